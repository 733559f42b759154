package sim

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsrsim/vsrsim/checker"
)

// The fast linearizability check (the commit order as a witness, checker.CheckWitness)
// against porcupine's search, which ignores the commit order, on the histories of real
// swarm runs: both must call every passing run's history linearizable, and both must call
// each of its planted mutations not linearizable. The mutations are chosen so that no
// linearization can exist (every proof rests on the workload's values: unique per write,
// never empty, so a key never takes the same value twice), which makes porcupine's
// "linearizable" a disagreement, not the witness being stricter than it need be.

const (
	crossSeeds    = 40
	plantsPerKind = 3 // per history, each on a fresh copy
)

// mutation bends one fact of a history; it reports false when the history offers no place
// for it.
type mutation struct {
	name  string
	apply func(rng *rand.Rand, ops []checker.Operation, m *checker.Model) bool
}

var mutations = []mutation{
	{"future read", futureRead},
	{"stale read", staleRead},
	{"swapped reads", swappedReads},
	{"write answered early", writeAnsweredEarly},
}

// writer is the history index of the operation whose value a key's state ends with: every
// value the workload writes is "c<slot>.<index>;".
func writer(value string) (int, bool) {
	value = strings.TrimSuffix(value, ";")
	if i := strings.LastIndex(value, ";"); i >= 0 {
		value = value[i+1:]
	}
	_, index, ok := strings.Cut(value, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(index)
	return n, err == nil
}

func completedGet(o *checker.Operation) bool { return !o.Pending && o.Input.Op == checker.OpGet }

func isWrite(o *checker.Operation) bool {
	return o.Input.Op == checker.OpPut || o.Input.Op == checker.OpAppend
}

// pick calls try on the candidates in a random order until one takes.
func pick(rng *rand.Rand, n int, try func(i int) bool) bool {
	for _, i := range rng.Perm(n) {
		if try(i) {
			return true
		}
	}
	return false
}

// futureRead: a get answers a value first written by a put or append invoked after the get
// was answered. No order puts that write before the get.
func futureRead(rng *rand.Rand, ops []checker.Operation, _ *checker.Model) bool {
	return pick(rng, len(ops), func(g int) bool {
		if !completedGet(&ops[g]) {
			return false
		}
		return pick(rng, len(ops), func(w int) bool {
			o := &ops[w]
			if !isWrite(o) || o.Input.Key != ops[g].Input.Key || o.Invoke <= ops[g].Response {
				return false
			}
			ops[g].Output.Value = o.Input.Value
			return true
		})
	})
}

// staleRead: a get answers the value of a put that another put overwrote, both answered
// before the get was invoked, one after the other.
func staleRead(rng *rand.Rand, ops []checker.Operation, _ *checker.Model) bool {
	return pick(rng, len(ops), func(g int) bool {
		if !completedGet(&ops[g]) {
			return false
		}
		key := ops[g].Input.Key
		return pick(rng, len(ops), func(b int) bool {
			ob := &ops[b]
			if ob.Pending || ob.Input.Op != checker.OpPut || ob.Input.Key != key || ob.Response >= ops[g].Invoke {
				return false
			}
			return pick(rng, len(ops), func(a int) bool {
				oa := &ops[a]
				if oa.Pending || oa.Input.Op != checker.OpPut || oa.Input.Key != key || oa.Response >= ob.Invoke ||
					ops[g].Output.Value == oa.Input.Value {
					return false
				}
				ops[g].Output.Value = oa.Input.Value
				return true
			})
		})
	})
}

// swappedReads: two gets of one key, one answered before the other was invoked, exchange
// their answers; the later answer was made by a write invoked after the first get was
// answered, so the first cannot have seen it.
func swappedReads(rng *rand.Rand, ops []checker.Operation, _ *checker.Model) bool {
	return pick(rng, len(ops), func(a int) bool {
		if !completedGet(&ops[a]) {
			return false
		}
		return pick(rng, len(ops), func(b int) bool {
			ob := &ops[b]
			if !completedGet(ob) || ob.Input.Key != ops[a].Input.Key || ob.Invoke <= ops[a].Response ||
				ob.Output.Value == ops[a].Output.Value {
				return false
			}
			w, ok := writer(ob.Output.Value)
			if !ok || w >= len(ops) || ops[w].Invoke <= ops[a].Response {
				return false
			}
			ops[a].Output, ob.Output = ob.Output, ops[a].Output
			return true
		})
	})
}

// writeAnsweredEarly: a put or append that ran after a get of its key is made to have been
// answered just before the get was invoked. The get did not see it, and what the get read
// was gone once the write ran: its value was written by an operation answered before the
// write was invoked (or the key was empty, which it never is again).
func writeAnsweredEarly(rng *rand.Rand, ops []checker.Operation, m *checker.Model) bool {
	return pick(rng, len(ops), func(g int) bool {
		og := &ops[g]
		eg, ran := m.Execution(g)
		if !completedGet(og) || !ran {
			return false
		}
		return pick(rng, len(ops), func(w int) bool {
			ow := &ops[w]
			ew, ran := m.Execution(w)
			if ow.Pending || !ran || !isWrite(ow) || ow.Input.Key != og.Input.Key || ew.Position < eg.Position ||
				ow.Invoke >= og.Invoke {
				return false
			}
			if og.Output.Value != "" {
				y, ok := writer(og.Output.Value)
				if !ok || y >= len(ops) || ops[y].Pending || ops[y].Response >= ow.Invoke {
					return false
				}
			}
			ow.Response = og.Invoke - 1
			return true
		})
	})
}

// otherWrittenValue: a get answers another value some put or append wrote to its key.
func otherWrittenValue(rng *rand.Rand, ops []checker.Operation) bool {
	return pick(rng, len(ops), func(g int) bool {
		if !completedGet(&ops[g]) {
			return false
		}
		return pick(rng, len(ops), func(w int) bool {
			o := &ops[w]
			if !isWrite(o) || o.Input.Key != ops[g].Input.Key || o.Input.Value == ops[g].Output.Value {
				return false
			}
			ops[g].Output.Value = o.Input.Value
			return true
		})
	})
}

func porcupineOn(ops []checker.Operation) checker.CheckResult {
	h := &checker.History{Format: checker.FormatVSRSim, Model: checker.ModelKV, TimeUnit: "tick", Operations: ops}
	return checker.CheckHistory(h, checker.CheckOptions{Strategy: checker.StrategyPorcupine, Timeout: 5 * time.Second})
}

func onlyLinearizability(violations []checker.Violation) bool {
	for _, v := range violations {
		if v.Invariant != "linearizability" {
			return false
		}
	}
	return len(violations) > 0
}

// TestWitnessAgreesWithPorcupine runs swarm seeds, short, and cross-checks their
// histories and each history's mutations.
func TestWitnessAgreesWithPorcupine(t *testing.T) {
	type tally struct{ tried, witness, porcupine, unknown int }
	counts := make([]tally, len(mutations))
	var other tally
	passed, linearizable, unknown, operations := 0, 0, 0, 0
	for seed, checked := 1, 0; checked < crossSeeds; seed++ {
		requests := 60 + (seed*37)%61
		config := RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileSwarm,
			Overrides: []Override{{Name: "requests", Value: strconv.Itoa(requests)}}}
		options, _, err := Prepare(config)
		if err != nil {
			t.Fatal(err)
		}
		if options.ClientTableMax*4 <= options.Clients {
			// A crowded client table leaves every evicted operation open to the end, and
			// porcupine's search does not decide such histories in its time limit: the
			// cross-check would be a row of unknowns, five seconds each.
			continue
		}
		checked++
		r, w := runWith(t, config, nil)
		switch r.Verdict {
		case VerdictPass:
		case VerdictLiveness:
			t.Logf("seed %d: %v: %s (not cross-checked)", seed, r.Verdict, r.Failure)
			continue
		default: // a bug in the replicas, or a checker crying wolf: either way, look
			t.Errorf("seed %d: %v: %s", seed, r.Verdict, r.Failure)
			continue
		}
		passed++
		operations += len(r.History)
		if v := checker.CheckWitness(r.History, w.model); len(v) > 0 {
			t.Fatalf("seed %d passed, yet the witness finds %v", seed, v)
		}
		switch res := porcupineOn(r.History); res.Verdict {
		case checker.Linearizable:
			linearizable++
		case checker.Unknown:
			unknown++
		default:
			t.Errorf("seed %d: the witness holds, porcupine says %v: %q", seed, res.Verdict, res.Explanation)
		}
		rng := rand.New(rand.NewSource(int64(seed)))
		for k, mut := range mutations {
			for try := 0; try < plantsPerKind; try++ {
				ops := append([]checker.Operation(nil), r.History...)
				if !mut.apply(rng, ops, w.model) {
					break
				}
				c := &counts[k]
				c.tried++
				violations := checker.CheckWitness(ops, w.model)
				if onlyLinearizability(violations) {
					c.witness++
				} else {
					t.Errorf("seed %d, %s: the witness says %v", seed, mut.name, violations)
				}
				switch res := porcupineOn(ops); res.Verdict {
				case checker.NotLinearizable:
					c.porcupine++
				case checker.Unknown:
					c.unknown++
				default:
					t.Errorf("seed %d, %s: porcupine finds it linearizable", seed, mut.name)
				}
			}
		}
		// Any other value written to the key: sometimes another order explains it, and
		// porcupine rightly finds one; the witness knows the order that happened and
		// flags every one. Counted, not judged.
		for try := 0; try < plantsPerKind; try++ {
			ops := append([]checker.Operation(nil), r.History...)
			if !otherWrittenValue(rng, ops) {
				break
			}
			other.tried++
			if onlyLinearizability(checker.CheckWitness(ops, w.model)) {
				other.witness++
			} else {
				t.Errorf("seed %d, another written value: the witness does not flag it", seed)
			}
			switch porcupineOn(ops).Verdict {
			case checker.NotLinearizable:
				other.porcupine++
			case checker.Unknown:
				other.unknown++
			}
		}
	}
	t.Logf("%d of %d seeds passed (%d operations): porcupine agrees on %d, unknown on %d",
		passed, crossSeeds, operations, linearizable, unknown)
	for k, c := range counts {
		t.Logf("%-21s planted %2d: witness %2d, porcupine %2d, porcupine unknown %d",
			mutations[k].name, c.tried, c.witness, c.porcupine, c.unknown)
		if c.tried < crossSeeds/2 {
			t.Errorf("%s: planted in only %d histories", mutations[k].name, c.tried)
		}
	}
	t.Logf("another written value planted %2d: witness %2d, porcupine %2d (the other %d: linearizable in another order), unknown %d",
		other.tried, other.witness, other.porcupine, other.tried-other.porcupine-other.unknown, other.unknown)
	if passed < crossSeeds*3/4 {
		t.Errorf("only %d of %d seeds passed: too few histories to cross-check", passed, crossSeeds)
	}
}
