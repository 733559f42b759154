package lincheck

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// Benchmarks on large generated key-value histories with unique values: the checker as
// the command runs it, against plain porcupine (split by key) on the same history.
// Porcupine gets a time limit so that the benchmark ends; when it gives up, the
// "decided" metric is 0 and ns/op is the limit.

var benchHistories sync.Map

// mixed is vsrsim's workload: puts, appends, cas and gets, a few clients never answered.
var mixed = genConfig{pendingPct: 1, casPct: 10, appendPct: 30, putPct: 30, maxGap: 40}

// appendOnly keys only grow, so reads get long: the case for reusing decompositions.
var appendOnly = genConfig{pendingPct: 1, appendPct: 70, maxGap: 40}

func benchHistory(clients, keys, ops int, cfg genConfig) *History {
	cfg.clients, cfg.keys, cfg.ops = clients, keys, ops
	name := fmt.Sprintf("%+v", cfg)
	if h, ok := benchHistories.Load(name); ok {
		return h.(*History)
	}
	h := genHistory(rand.New(rand.NewSource(int64(ops))), cfg)
	benchHistories.Store(name, h)
	return h
}

func benchCheck(b *testing.B, h *History, s Strategy) {
	benchCheckWant(b, h, s, Linearizable)
}

// benchCheckWant fails the benchmark on a verdict other than want or Unknown.
func benchCheckWant(b *testing.B, h *History, s Strategy, want Verdict) {
	b.ReportAllocs()
	b.ResetTimer()
	decided, fastKeys := 0, 0
	for i := 0; i < b.N; i++ {
		res := Check(h, Options{Strategy: s, Timeout: 30 * time.Second})
		fastKeys += res.FastPathKeys
		switch res.Verdict {
		case want:
			decided++
		case Unknown:
		default:
			b.Fatalf("judged %s, want %s:\n%v", res.Verdict, want, res.Explanation)
		}
	}
	b.ReportMetric(float64(decided)/float64(b.N), "decided")
	b.ReportMetric(float64(len(h.Operations)), "ops")
	b.ReportMetric(float64(fastKeys)/float64(b.N), "fast-keys")
}

// staleRead is a mixed history of 100 clients in which one late read returns the value
// the key held at the start: not linearizable, found by the fast path's proof.
func staleRead() *History {
	h := benchHistory(100, 10, 50000, mixed)
	ops := append([]Operation(nil), h.Operations...)
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Input.Op == OpGet && !ops[i].Pending && ops[i].Output.Value != "" {
			ops[i].Output.Value = ""
			break
		}
	}
	return &History{Format: h.Format, Model: h.Model, TimeUnit: h.TimeUnit, Operations: ops}
}

func BenchmarkCheckHistory100Clients50kOpsStaleRead(b *testing.B) {
	benchCheckWant(b, staleRead(), StrategyAuto, NotLinearizable)
}

func BenchmarkCheckHistory100Clients50kOpsStaleReadPorcupine(b *testing.B) {
	benchCheckWant(b, staleRead(), StrategyPorcupine, NotLinearizable)
}

func BenchmarkCheckHistory50Clients20kOps10Keys(b *testing.B) {
	benchCheck(b, benchHistory(50, 10, 20000, mixed), StrategyAuto)
}

func BenchmarkCheckHistory50Clients20kOps10KeysPorcupine(b *testing.B) {
	benchCheck(b, benchHistory(50, 10, 20000, mixed), StrategyPorcupine)
}

func BenchmarkCheckHistory100Clients50kOps10Keys(b *testing.B) {
	benchCheck(b, benchHistory(100, 10, 50000, mixed), StrategyAuto)
}

func BenchmarkCheckHistory100Clients50kOps10KeysPorcupine(b *testing.B) {
	benchCheck(b, benchHistory(100, 10, 50000, mixed), StrategyPorcupine)
}

func BenchmarkCheckHistory100Clients20kOps1Key(b *testing.B) {
	benchCheck(b, benchHistory(100, 1, 20000, mixed), StrategyAuto)
}

func BenchmarkCheckHistory100Clients20kOps1KeyPorcupine(b *testing.B) {
	benchCheck(b, benchHistory(100, 1, 20000, mixed), StrategyPorcupine)
}

func BenchmarkCheckHistory100Clients20kAppends1Key(b *testing.B) {
	benchCheck(b, benchHistory(100, 1, 20000, appendOnly), StrategyAuto)
}

func BenchmarkCheckHistory100Clients20kAppends1KeyPorcupine(b *testing.B) {
	benchCheck(b, benchHistory(100, 1, 20000, appendOnly), StrategyPorcupine)
}

func BenchmarkCheckHistory50Clients20kAppends10Keys(b *testing.B) {
	benchCheck(b, benchHistory(50, 10, 20000, appendOnly), StrategyAuto)
}

func BenchmarkCheckHistory50Clients20kAppends10KeysPorcupine(b *testing.B) {
	benchCheck(b, benchHistory(50, 10, 20000, appendOnly), StrategyPorcupine)
}
