package lincheck

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// smallShape draws a register history shape small enough for porcupine to decide.
func smallShape(rng *rand.Rand) regShape {
	return regShape{
		domain: 2 + rng.Intn(4), clients: 2 + rng.Intn(7), ops: 10 + rng.Intn(110),
		crashPct: rng.Intn(21), casPct: rng.Intn(40), writePct: 20 + rng.Intn(40),
		latency: 2 + rng.Intn(12), anomaly: rng.Intn(2) == 0,
	}
}

// sweepWith runs the sweep on a one-key history at one beam width (0: exact).
func sweepWith(t *testing.T, h *History, beam int) (*sweep, *sweepOutcome) {
	t.Helper()
	c, err := newCheck(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.parts) != 1 {
		t.Fatalf("%d parts", len(c.parts))
	}
	s, why := newSweep(c.parts[0].ops)
	if s == nil {
		t.Fatalf("the sweep does not apply: %s", why)
	}
	s.beam = beam
	return s, s.run()
}

// TestSweepAgreesWithPorcupine: on small generated register histories, linearizable or
// with one anomaly by construction, and on random mutations of them (whose verdict only
// porcupine knows), the exact sweep, the beam sweep and the whole check agree with
// porcupine and with the construction.
func TestSweepAgreesWithPorcupine(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	runs := 300
	if testing.Short() {
		runs = 60
	}
	decided := map[string]int{}
	for run := 0; run < runs; run++ {
		shape := smallShape(rng)
		h := genRegister(int64(run), shape)
		name := fmt.Sprintf("run %d %v", run, shape)
		if run%3 == 2 {
			h = mutate(rng, h)
			name += " mutated"
			shape.anomaly = false
		}
		c, err := newCheck(h, Options{})
		if err != nil {
			continue // a mutation that is no longer a register history
		}
		oracle := porcupineVerdict(c, c.parts[0], 2*time.Second)
		if oracle == Unknown {
			continue
		}
		if !strings.Contains(name, "mutated") {
			want := Linearizable
			if shape.anomaly {
				want = NotLinearizable
			}
			if oracle != want {
				t.Fatalf("%s: porcupine says %s, the construction %s", name, oracle, want)
			}
		}
		_, exact := sweepWith(t, h, 0)
		_, beam := sweepWith(t, h, 4)
		res := Check(h, Options{Strategy: StrategySweepOnly})
		for what, got := range map[string]Verdict{"exact sweep": exact.verdict, "whole check": res.Verdict} {
			if got != oracle {
				t.Fatalf("%s: %s says %s, porcupine %s\n%s", name, what, got, oracle, strings.Join(res.Explanation, "\n"))
			}
		}
		if beam.verdict != Unknown && beam.verdict != oracle {
			t.Fatalf("%s: a narrow beam says %s, porcupine %s", name, beam.verdict, oracle)
		}
		decided[oracle.String()]++
	}
	if decided["linearizable"] < runs/4 || decided["not linearizable"] < runs/4 {
		t.Errorf("too few decided either way: %v", decided)
	}
}

// TestSweepWindowIsUnexplainable: the window a "not linearizable" names is itself not
// linearizable from the values it starts from, as porcupine judges it; and it is short
// where the anomaly is short (a write answered before a read that contradicts it).
func TestSweepWindowIsUnexplainable(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		shape := regShape{domain: 3, clients: 10, ops: 600, crashPct: 10, casPct: 20, writePct: 40, latency: 10, anomaly: true}
		h := genRegister(seed, shape)
		c, err := newCheck(h, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := c.sweepPart(c.parts[0])
		if r.verdict != NotLinearizable || r.window == nil {
			t.Fatalf("seed %d: %s, window %v: %q", seed, r.verdict, r.window, r.lines)
		}
		ops := c.windowOps(c.parts[0], r.window)
		if got := porcupine.CheckOperationsTimeout(c.windowModel(r.window), ops, 5*time.Second); got != porcupine.Illegal {
			t.Fatalf("seed %d: porcupine finds the window %v (%d operations): %q", seed, got, len(ops), r.lines)
		}
		if len(r.window.ops) > 4 {
			t.Errorf("seed %d: a window of %d operations for a two-operation anomaly:\n%s", seed, len(r.window.ops), strings.Join(r.lines, "\n"))
		}
	}
}

// TestSweepPublicHistories: the sweep alone judges the Jepsen etcd registers right (the
// key-value logs append, which the sweep leaves to the other techniques).
func TestSweepPublicHistories(t *testing.T) {
	for file, verdict := range expectedVerdicts(t) {
		if !strings.HasPrefix(file, "jepsen-etcd/") {
			continue
		}
		h, err := ReadHistory(filepath.Join(publicHistories, file))
		if err != nil {
			t.Fatal(err)
		}
		res := Check(h, Options{Strategy: StrategySweepOnly})
		if got := strings.ReplaceAll(res.Verdict.String(), " ", "-"); got != verdict || res.Method != MethodSweep {
			t.Errorf("%s: %s by %s, want %s\n%s", file, got, res.Method, verdict, strings.Join(res.Explanation, "\n"))
		}
	}
}

// TestSweepShapes decides generated histories of the shapes (value domains 2 to 5,
// up to 50 clients, 10% crashed) at sizes that keep go test quick; the benchmark runs the
// full sizes.
func TestSweepShapes(t *testing.T) {
	sizes := []int{2000}
	if testing.Short() {
		sizes = []int{500}
	}
	for _, n := range sizes {
		for _, shape := range []regShape{
			{domain: 2, clients: 20, ops: n, crashPct: 10, casPct: 20, writePct: 40, latency: 20},
			{domain: 5, clients: 50, ops: n, crashPct: 10, casPct: 20, writePct: 40, latency: 20, anomaly: true},
			{domain: 3, clients: 50, ops: n, crashPct: 5, casPct: 0, writePct: 50, latency: 20},
		} {
			h := genRegister(int64(n), shape)
			res := Check(h, Options{Timeout: 20 * time.Second})
			want := Linearizable
			if shape.anomaly {
				want = NotLinearizable
			}
			if res.Verdict != want || res.Method != MethodSweep {
				t.Errorf("%v: %s by %s, want %s by the sweep\n%s", shape, res.Verdict, res.Method, want, strings.Join(res.Explanation, "\n"))
			}
		}
	}
}

func TestUsedCounts(t *testing.T) {
	u := withUsed("", 3, 1)
	u = withUsed(u, 1, 2)
	u = withUsed(u, 3, 5)
	u = withUsed(u, 7, 1)
	if usedCount(u, 1) != 2 || usedCount(u, 3) != 5 || usedCount(u, 7) != 1 || usedCount(u, 2) != 0 || len(u) != 24 {
		t.Fatalf("counts wrong: %v", []byte(u))
	}
	if !usedAtMost(withUsed("", 3, 1), u) || usedAtMost(u, withUsed("", 3, 9)) || !usedAtMost("", u) {
		t.Fatal("usedAtMost wrong")
	}
	s := &sweep{}
	a := config{value: 1, used: withUsed("", 0, 1)}
	b := config{value: 1, used: withUsed(withUsed("", 0, 1), 2, 1)}
	c := config{value: 2, used: withUsed("", 0, 3)}
	d := config{value: 1, used: withUsed("", 2, 1)}
	got := s.prune([]config{b, a, c, d})
	if len(got) != 3 || got[0] != a || got[1] != c || got[2] != d {
		t.Fatalf("prune kept %v", got)
	}
}
