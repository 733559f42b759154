package lincheck

import (
	"flag"
	"fmt"
	"testing"
	"time"
)

// The shapes of issue 11: register histories in the manner of Jepsen's, with values from a
// domain of 2 to 5, 5 to 50 clients, 2,000 to 50,000 operations and up to 10% crashed,
// linearizable or with one anomaly no order explains. BenchmarkRegisterShapes runs the
// check as the command does (sweep/...) and porcupine alone (porcupine/...), which gets
// -porcupine-limit; "decided" is 1 when the verdict came, and right.
//
//	go test ./lincheck -run '^$' -bench RegisterShapes -benchtime 1x -timeout 30m
var porcupineLimit = flag.Duration("porcupine-limit", 60*time.Second, "porcupine's time limit in BenchmarkRegisterShapes")

var registerShapes = []regShape{
	{domain: 5, clients: 5, ops: 2000, crashPct: 10, casPct: 20, writePct: 40, latency: 20},
	{domain: 5, clients: 5, ops: 2000, crashPct: 10, casPct: 20, writePct: 40, latency: 20, anomaly: true},
	{domain: 2, clients: 20, ops: 10000, crashPct: 10, casPct: 20, writePct: 40, latency: 20},
	{domain: 3, clients: 20, ops: 10000, crashPct: 10, casPct: 20, writePct: 40, latency: 20, anomaly: true},
	{domain: 4, clients: 50, ops: 20000, crashPct: 5, casPct: 0, writePct: 50, latency: 20},
	{domain: 2, clients: 50, ops: 50000, crashPct: 0, casPct: 20, writePct: 40, latency: 20},
	{domain: 5, clients: 50, ops: 50000, crashPct: 10, casPct: 20, writePct: 40, latency: 20},
	{domain: 5, clients: 50, ops: 50000, crashPct: 10, casPct: 20, writePct: 40, latency: 20, anomaly: true},
}

func BenchmarkRegisterShapes(b *testing.B) {
	for _, shape := range registerShapes {
		h := genRegister(1, shape)
		want := Linearizable
		if shape.anomaly {
			want = NotLinearizable
		}
		for _, st := range []struct {
			name string
			opts Options
		}{
			{"sweep", Options{Timeout: 60 * time.Second}},
			{"porcupine", Options{Timeout: *porcupineLimit, Strategy: StrategyPorcupine}},
		} {
			b.Run(fmt.Sprintf("%s/%v", st.name, shape), func(b *testing.B) {
				decided := 0
				var method string
				for i := 0; i < b.N; i++ {
					res := Check(h, st.opts)
					switch res.Verdict {
					case want:
						decided++
						method = res.Method
					case Unknown:
					default:
						b.Fatalf("judged %s, want %s:\n%v", res.Verdict, want, res.Explanation)
					}
				}
				b.ReportMetric(float64(decided)/float64(b.N), "decided")
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
				if method != "" {
					b.Logf("decided by %s", method)
				}
			})
		}
	}
}
