package sim

import (
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"
)

// What the checkers cost: the same runs with and without them (RunConfig's
// uncheckedForBenchmark). The goal is under 30% of run time.
//
//	go test ./sim -run '^$' -bench CheckerOverhead -benchtime 20x
//
// reports, per profile, the mean wall time of a run with and without the checkers, the
// overhead in percent, and the median of the overhead per pair of runs (robust to a noisy
// machine). Seeds whose checked run fails a check are skipped and counted. Each run starts
// on a fresh heap, as a single `vsrsim run` does: the worst case, since the checkers'
// memory (model, history, canonical headers) then drives more collections. The steady state
// of a swarm, where each run inherits the heap goal of the last, is what BenchmarkChecked
// against BenchmarkUnchecked shows (benchstat); it is lower. Checked and unchecked runs alternate, so that drift in the machine's
// speed falls on both, and each starts after a collection: without it a run inherits the
// heap goal the previous one left, which favours whichever follows the checked run.

var overheadCases = []struct {
	name   string
	config func(i int) RunConfig
}{
	{"swarm", func(i int) RunConfig { return RunConfig{Seed: strconv.Itoa(1 + i%20), Profile: ProfileSwarm} }},
	{"performance", func(int) RunConfig { return RunConfig{Seed: "1", Profile: ProfilePerformance} }},
}

func BenchmarkCheckerOverhead(b *testing.B) {
	for _, c := range overheadCases {
		b.Run(c.name, func(b *testing.B) {
			var spent [2]time.Duration // checked, unchecked
			var ratios []float64
			skipped := 0
			for i := 0; i < b.N; i++ {
				var pair [2]time.Duration
				var verdicts [2]Verdict
				for k := 0; k < 2; k++ {
					unchecked := (i+k)%2 == 1 // alternate which goes first
					config := c.config(i)
					config.uncheckedForBenchmark = unchecked
					runtime.GC() // each run starts from the same heap, and pays for its own garbage
					start := time.Now()
					r, err := Run(config)
					pair[b2u(unchecked)] = time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					verdicts[b2u(unchecked)] = r.Verdict
				}
				// A correctness failure stops the checked run early; nothing to compare.
				if verdicts[0] != verdicts[1] {
					skipped++
					continue
				}
				spent[0], spent[1] = spent[0]+pair[0], spent[1]+pair[1]
				ratios = append(ratios, pair[0].Seconds()/pair[1].Seconds())
			}
			if len(ratios) == 0 {
				b.Fatalf("%s: every run failed its checks", c.name)
			}
			sort.Float64s(ratios)
			n := float64(len(ratios))
			b.ReportMetric(spent[0].Seconds()*1e3/n, "checked-ms/run")
			b.ReportMetric(spent[1].Seconds()*1e3/n, "unchecked-ms/run")
			b.ReportMetric(100*(spent[0].Seconds()-spent[1].Seconds())/spent[1].Seconds(), "overhead-%")
			b.ReportMetric(100*(ratios[len(ratios)/2]-1), "median-overhead-%")
			b.ReportMetric(float64(skipped), "skipped")
		})
	}
}

// BenchmarkChecked and BenchmarkUnchecked are the same runs one at a time, for profiles
// (-cpuprofile) and benchstat.
func BenchmarkChecked(b *testing.B)   { benchRuns(b, false) }
func BenchmarkUnchecked(b *testing.B) { benchRuns(b, true) }

func benchRuns(b *testing.B, unchecked bool) {
	for _, c := range overheadCases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				config := c.config(i)
				config.uncheckedForBenchmark = unchecked
				if _, err := Run(config); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCheckersOnlyWatch: a run with the checkers and one without are the same run (same
// trace hash, ticks and counts), so the overhead compares like with like, and the checkers
// perturb nothing they watch.
func TestCheckersOnlyWatch(t *testing.T) {
	for _, config := range []RunConfig{
		{Seed: "2", Profile: ProfileSwarm},
		{Seed: "9", Profile: ProfileSwarm, Overrides: []Override{{Name: "requests", Value: "100"}}},
	} {
		checked := mustRun(t, config)
		config.uncheckedForBenchmark = true
		unchecked := mustRun(t, config)
		if checked.TraceHash != unchecked.TraceHash || checked.Ticks != unchecked.Ticks ||
			checked.Stats.Replies != unchecked.Stats.Replies {
			t.Fatalf("seed %s: checked %s (%d ticks), unchecked %s (%d ticks)", config.Seed,
				checked.TraceHash, checked.Ticks, unchecked.TraceHash, unchecked.Ticks)
		}
	}
}
