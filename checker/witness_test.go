package checker

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsrsim/vsrsim/core"
)

// system plays an honest cluster as its clients and the checkers see it: clients invoke
// key-value operations (Model.Sent), the canonical order commits them (Model.Apply of a
// sealed prepare), and replies carry what the model returned at the op it ran. A test
// bends one fact afterwards (a reply, a tick, the commit order) and calls CheckWitness.
type system struct {
	m        *Model
	log      *chain
	ops      []Operation
	bodies   [][]byte
	requests []core.RequestNumber // of each operation, in its client's session
	numbers  []core.RequestNumber // per client: the last request number used
}

func clientID(slot int) core.ClientID { return core.ClientID(1000 + slot) }

// newSystem registers every client at op 1: their sessions are all 1.
func newSystem(clients int) *system {
	s := &system{m: NewModel(clients), log: newChain(), numbers: make([]core.RequestNumber, clients)}
	var registers []core.Request
	for c := 0; c < clients; c++ {
		registers = append(registers, registerOf(clientID(c)))
	}
	s.log.add(1, registers...)
	s.m.Apply(1, 1, s.log.prepares[1])
	return s
}

func toCoreKV(in KVInput, tag string) core.KVInput {
	out := core.KVInput{Key: in.Key, Value: in.Value, Expected: in.Expected}
	switch in.Op {
	case OpGet:
		out.Op, out.Value = core.KVGet, tag // a get's body carries a tag the store ignores
	case OpPut:
		out.Op = core.KVPut
	case OpAppend:
		out.Op = core.KVAppend
	case OpCAS:
		out.Op = core.KVCas
	}
	return out
}

// invoke starts an operation of a client at a tick and returns its history index.
func (s *system) invoke(client int, at int64, in KVInput) int {
	i := len(s.ops)
	body := core.EncodeKV(nil, toCoreKV(in, "tag"+strconv.Itoa(i)))
	s.numbers[client]++
	s.ops = append(s.ops, Operation{Client: client, Invoke: at, Pending: true, Input: in})
	s.bodies, s.requests = append(s.bodies, body), append(s.requests, s.numbers[client])
	s.m.Sent(clientID(client), body, i)
	return i
}

// commit runs the next op, a batch of the given operations in that order.
func (s *system) commit(indexes ...int) []Violation {
	var batch []core.Request
	for _, i := range indexes {
		batch = append(batch, applyOf(clientID(s.ops[i].Client), 1, s.requests[i], s.bodies[i]))
	}
	s.log.add(1, batch...)
	op := s.log.head()
	return s.m.Apply(uint64(op), op, s.log.prepares[op])
}

// reply answers an operation that ran, at a tick, with what the model says it returned.
func (s *system) reply(i int, at int64) {
	e, ok := s.m.Execution(i)
	if !ok {
		panic(fmt.Sprintf("reply to operation %d, which did not run", i))
	}
	o := &s.ops[i]
	o.Pending, o.Response, o.Output, o.OpNumber = false, at, e.Output, uint64(e.Op)
}

func kvPut(key, value string) KVInput    { return KVInput{Op: OpPut, Key: key, Value: value} }
func kvAppend(key, value string) KVInput { return KVInput{Op: OpAppend, Key: key, Value: value} }
func kvGet(key string) KVInput           { return KVInput{Op: OpGet, Key: key} }
func kvCAS(key, expected, value string) KVInput {
	return KVInput{Op: OpCAS, Key: key, Expected: expected, Value: value}
}

// porcupineSays is the independent opinion on a history.
func porcupineSays(ops []Operation) HistoryVerdict {
	h := &History{Format: FormatVSRSim, Model: ModelKV, TimeUnit: "tick", Operations: ops}
	return CheckHistory(h, CheckOptions{Strategy: StrategyPorcupine, Timeout: 10 * time.Second}).Verdict
}

// TestWitnessHonestEdgeCasesRaiseNothing: overlapping operations committed against their
// invocation order, an operation answered at the very tick another is invoked (closed
// intervals: concurrent), an operation that ran but whose client never heard back, one that
// never ran, a failed cas and a put whose reply carries nothing.
func TestWitnessHonestEdgeCasesRaiseNothing(t *testing.T) {
	s := newSystem(4)
	a := s.invoke(0, 1, kvPut("x", "a"))
	b := s.invoke(1, 2, kvPut("x", "b")) // invoked after a, runs before it: both in flight
	s.commit(b)
	s.commit(a)
	s.reply(b, 5)
	s.reply(a, 6)
	c := s.invoke(2, 6, kvGet("x")) // invoked at the tick a was answered
	d := s.invoke(3, 6, kvAppend("x", "d"))
	s.commit(d, c) // c runs after d, so reads "ad"
	s.reply(c, 8)
	// d ran; its client never heard back.
	e := s.invoke(0, 9, kvCAS("x", "b", "e")) // fails: x is "ad"
	s.invoke(1, 9, kvPut("y", "lost"))        // never runs
	f := s.invoke(2, 9, kvGet("y"))
	s.commit(f, e)
	s.reply(e, 12)
	s.reply(f, 12)
	noViolation(t, "honest edge cases", CheckWitness(s.ops, s.m))
	if got := s.ops[c].Output.Value; got != "ad" {
		t.Fatalf("the get read %q, want ad", got)
	}
	if v := porcupineSays(s.ops); v != Linearizable {
		t.Fatalf("porcupine: %v", v)
	}
	// A put's reply carries nothing to compare: whatever the client heard, it is right.
	s.ops[a].Output = KVOutput{Value: "noise", Swapped: true}
	noViolation(t, "a put's output", CheckWitness(s.ops, s.m))
}

// TestWitnessCatchesAReplyForAnOpThatNeverRan plants a reply (a primary answering before a
// quorum held the op, and the op lost in a view change).
func TestWitnessCatchesAReplyForAnOpThatNeverRan(t *testing.T) {
	s := newSystem(2)
	a := s.invoke(0, 1, kvPut("x", "a"))
	b := s.invoke(1, 1, kvPut("x", "b"))
	s.commit(b)
	s.reply(b, 3)
	s.ops[a].Pending, s.ops[a].Response, s.ops[a].OpNumber = false, 4, 2
	violations := CheckReply(s.ops, a, s.m)
	onlyInvariant(t, violations, "durability")
	if !strings.Contains(violations[0].Detail, "never ran") || violations[0].Tick != 4 {
		t.Fatalf("violation %v, want the put that never ran, at tick 4", violations[0])
	}
	onlyInvariant(t, CheckWitness(s.ops, s.m), "durability")
}

// TestWitnessCatchesAReplyNamingAnotherOp plants a reply whose op number is not where the
// operation ran (a replica answering from the wrong slot of its log).
func TestWitnessCatchesAReplyNamingAnotherOp(t *testing.T) {
	s := newSystem(2)
	a := s.invoke(0, 1, kvPut("x", "a"))
	b := s.invoke(1, 1, kvGet("x"))
	s.commit(a)
	s.commit(b)
	s.reply(a, 3)
	s.reply(b, 3)
	s.ops[a].OpNumber = 3
	violations := CheckWitness(s.ops, s.m)
	onlyInvariant(t, violations, "durability")
	if len(violations) != 1 || !strings.Contains(violations[0].Detail, "named op 3") || !strings.Contains(violations[0].Detail, "ran at op 2") {
		t.Fatalf("violations %v, want a's reply naming op 3", violations)
	}
}

// TestWitnessCatchesAWrongResult plants replies that do not match the commit order: a get
// that read another value (one written to the key, only later), a cas that says it swapped
// when it did not, and one that says it did not when it did.
func TestWitnessCatchesAWrongResult(t *testing.T) {
	build := func() (*system, []int) {
		s := newSystem(3)
		w1 := s.invoke(0, 1, kvPut("x", "1"))
		s.commit(w1)
		s.reply(w1, 2)
		g := s.invoke(1, 3, kvGet("x"))
		s.commit(g)
		s.reply(g, 4)
		ok := s.invoke(2, 5, kvCAS("x", "1", "2"))
		s.commit(ok)
		s.reply(ok, 6)
		no := s.invoke(0, 7, kvCAS("x", "1", "3"))
		s.commit(no)
		s.reply(no, 8)
		noViolation(t, "before the plant", CheckWitness(s.ops, s.m))
		return s, []int{g, ok, no}
	}
	for _, c := range []struct {
		name  string
		which int
		heard KVOutput
	}{
		{"a get reading a later value", 0, KVOutput{Value: "2"}},
		{"a get reading nothing", 0, KVOutput{}},
		{"a cas that did swap, heard as not", 1, KVOutput{}},
		{"a cas that did not swap, heard as swapped", 2, KVOutput{Swapped: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ops := build()
			i := ops[c.which]
			s.ops[i].Output = c.heard
			violations := CheckReply(s.ops, i, s.m)
			onlyInvariant(t, violations, "linearizability")
			if !strings.Contains(violations[0].Detail, "in commit order (op") {
				t.Fatalf("violation %v does not say what the commit order returns", violations[0])
			}
			onlyInvariant(t, CheckWitness(s.ops, s.m), "linearizability")
			if v := porcupineSays(s.ops); v != NotLinearizable {
				t.Fatalf("porcupine: %v, want not linearizable", v)
			}
		})
	}
}

// TestWitnessCatchesARealTimeInversion plants commit orders that contradict real time: an
// operation answered before another was invoked, yet committed after it. Every reply is
// right for the commit order, so only the real-time check can see it; a pending operation
// committed too early counts as well.
func TestWitnessCatchesARealTimeInversion(t *testing.T) {
	t.Run("answered before invoked", func(t *testing.T) {
		s := newSystem(2)
		a := s.invoke(0, 1, kvPut("x", "a"))
		b := s.invoke(1, 5, kvGet("x")) // invoked after a was answered at 4 ...
		s.commit(b)                     // ... yet run before it: it reads nothing
		s.commit(a)
		s.reply(a, 4)
		s.reply(b, 6)
		for i := range s.ops {
			noViolation(t, "each reply alone", CheckReply(s.ops, i, s.m))
		}
		violations := CheckWitness(s.ops, s.m)
		onlyInvariant(t, violations, "linearizability")
		if len(violations) != 1 || !strings.Contains(violations[0].Detail, "completed at tick 4, before client 1 invoked get(\"x\") at tick 5") {
			t.Fatalf("violations %v", violations)
		}
		if v := porcupineSays(s.ops); v != NotLinearizable {
			t.Fatalf("porcupine: %v, want not linearizable", v)
		}
	})
	t.Run("a pending operation run too early", func(t *testing.T) {
		s := newSystem(2)
		a := s.invoke(0, 1, kvAppend("x", "a"))
		b := s.invoke(1, 5, kvAppend("x", "b")) // its client never hears back
		s.commit(b)
		s.commit(a)
		s.reply(a, 4)
		onlyInvariant(t, CheckWitness(s.ops, s.m), "linearizability")
		// Porcupine cannot see this one: b's effect is never read, so a history without it
		// is linearizable. The witness knows b ran, and where.
		if v := porcupineSays(s.ops); v != Linearizable {
			t.Fatalf("porcupine: %v", v)
		}
	})
	t.Run("the boundary tick is concurrent", func(t *testing.T) {
		s := newSystem(2)
		a := s.invoke(0, 1, kvPut("x", "a"))
		b := s.invoke(1, 4, kvGet("x")) // invoked at the tick a was answered
		s.commit(b)
		s.commit(a)
		s.reply(a, 4)
		s.reply(b, 6)
		noViolation(t, "overlapping at one tick", CheckWitness(s.ops, s.m))
	})
}

// honestRun drives a random honest system: clients invoke at random, in-flight operations
// commit in random batches and orders, replies come at random after the commit; some
// operations are never answered (some of them never run), and their clients retire.
func honestRun(rng *rand.Rand, clients, keys, operations int) *system {
	s := newSystem(clients)
	inFlight := make([]int, clients) // history index, or -1
	for c := range inFlight {
		inFlight[c] = -1
	}
	retired := make([]bool, clients)
	var uncommitted, unanswered []int
	key := func() string { return "k" + strconv.Itoa(rng.Intn(keys)) }
	for tick := int64(1); ; tick++ {
		active := false
		for c := 0; c < clients; c++ {
			if retired[c] || inFlight[c] >= 0 {
				active = active || inFlight[c] >= 0 && !retired[c]
				continue
			}
			if len(s.ops) >= operations {
				continue
			}
			active = true
			if rng.Intn(3) != 0 {
				continue
			}
			value := "c" + strconv.Itoa(c) + "." + strconv.Itoa(len(s.ops)) + ";"
			var in KVInput
			switch k := key(); rng.Intn(4) {
			case 0:
				in = kvGet(k)
			case 1:
				in = kvPut(k, value)
			case 2:
				in = kvAppend(k, value)
			default:
				in = kvCAS(k, s.m.values[k], value)
				if rng.Intn(2) == 0 {
					in.Expected = "c0.0;"
				}
			}
			i := s.invoke(c, tick, in)
			inFlight[c] = i
			uncommitted = append(uncommitted, i)
		}
		if len(uncommitted) > 0 && rng.Intn(2) == 0 {
			rng.Shuffle(len(uncommitted), func(a, b int) { uncommitted[a], uncommitted[b] = uncommitted[b], uncommitted[a] })
			n := 1 + rng.Intn(len(uncommitted))
			batch := append([]int(nil), uncommitted[:n]...)
			uncommitted = uncommitted[n:]
			var lost []int
			var run []int
			for _, i := range batch {
				if rng.Intn(20) == 0 {
					lost = append(lost, i) // never runs: its client gives up
				} else {
					run = append(run, i)
				}
			}
			for _, i := range lost {
				retired[s.ops[i].Client] = true
			}
			if len(run) > 0 {
				s.commit(run...)
				unanswered = append(unanswered, run...)
			}
		}
		var still []int
		for _, i := range unanswered {
			switch r := rng.Intn(8); {
			case r == 0 && rng.Intn(8) == 0:
				retired[s.ops[i].Client] = true // ran, never answered
			case r < 3:
				s.reply(i, tick)
				inFlight[s.ops[i].Client] = -1
			default:
				still = append(still, i)
			}
		}
		unanswered = still
		if !active && len(uncommitted) == 0 && len(unanswered) == 0 {
			return s
		}
		if tick > 1_000_000 {
			panic("honestRun does not end")
		}
	}
}

// TestWitnessRaisesNothingOnHonestRuns: hundreds of random honest systems, few keys and
// many clients so that operations overlap; the witness raises nothing and porcupine, which
// ignores the commit order, agrees that every history is linearizable.
func TestWitnessRaisesNothingOnHonestRuns(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	operations, pending, overtaken := 0, 0, 0
	for run := 0; run < 300; run++ {
		s := honestRun(rng, 2+rng.Intn(6), 1+rng.Intn(3), 10+rng.Intn(60))
		operations += len(s.ops)
		latest := 0 // the highest position among the operations invoked so far
		for i := range s.ops {
			pending += b2i(s.ops[i].Pending)
			if e, ok := s.m.Execution(i); ok {
				overtaken += b2i(e.Position < latest)
				latest = max(latest, e.Position)
			}
		}
		if violations := CheckWitness(s.ops, s.m); len(violations) > 0 {
			t.Fatalf("run %d: a false alarm: %v", run, violations)
		}
		if v := porcupineSays(s.ops); v != Linearizable {
			t.Fatalf("run %d: porcupine: %v", run, v)
		}
	}
	t.Logf("300 honest runs: %d operations, %d never answered, %d run before one invoked earlier", operations, pending, overtaken)
	if pending == 0 || overtaken == 0 {
		t.Fatal("the generator made no pending or no reordered operations: the test proves little")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
