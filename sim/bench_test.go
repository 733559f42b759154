package sim

import "testing"

// BenchmarkPerformanceProfile runs the performance profile (3 replicas, 32 clients, 20,000
// requests, no faults) and reports committed requests and delivered messages per second.
func BenchmarkPerformanceProfile(b *testing.B) {
	var committed, delivered uint64
	for i := 0; i < b.N; i++ {
		r, err := Run(RunConfig{Seed: "1", Profile: ProfilePerformance})
		if err != nil || r.Verdict != VerdictPass {
			b.Fatalf("performance profile: %v %s", err, r.Failure)
		}
		committed += r.Stats.RequestsCommitted
		delivered += r.Stats.Network.Delivered
	}
	b.ReportMetric(float64(committed)/b.Elapsed().Seconds(), "requests/s")
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "messages/s")
}

// BenchmarkSwarmSeed runs swarm seeds 1 to 20, one per iteration, round robin.
func BenchmarkSwarmSeed(b *testing.B) {
	var ticks uint64
	for i := 0; i < b.N; i++ {
		r, err := Run(RunConfig{Seed: string(rune('0' + i%10)), Profile: ProfileSwarm})
		if err != nil {
			b.Fatal(err)
		}
		ticks += r.Ticks
	}
	b.ReportMetric(float64(ticks)/b.Elapsed().Seconds(), "ticks/s")
}
