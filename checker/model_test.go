package checker

import (
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
)

// The model's tests replay hand-built canonical histories (chain, from commits_test.go)
// through Model.Apply: a history a correct cluster could commit raises nothing and gives
// the reference store's outputs and digests; planted phantoms and second executions are
// named.

func kvInput(op core.KVOp, key, value, expected string) []byte {
	return core.EncodeKV(nil, core.KVInput{Op: op, Key: key, Value: value, Expected: expected})
}

func registerOf(client core.ClientID) core.Request {
	return core.Request{Client: client, Operation: core.OperationRegister}
}

func applyOf(client core.ClientID, session core.Session, n core.RequestNumber, body []byte) core.Request {
	return core.Request{Client: client, Session: session, Request: n, Operation: core.OperationApply, Body: body}
}

// replay applies a chain's ops to the model and returns every violation.
func replay(m *Model, log *chain) []Violation {
	var violations []Violation
	for op := m.Ops() + 1; op <= log.head(); op++ {
		violations = append(violations, m.Apply(uint64(op), op, log.prepares[op])...)
	}
	return violations
}

// TestModelFollowsTheClientTableAndTheStore replays a history with every case of the
// client table (a duplicate in the same batch and later, a gap, an eviction, a request of
// the evicted session, a register of a known client) and every key-value operation, an
// append beyond the value bound included. No violation; the requests the documented rules
// run are the ones that ran; and replaying the executed bodies through core.KV, in the
// model's order, gives the model's outputs and digests after every op.
func TestModelFollowsTheClientTableAndTheStore(t *testing.T) {
	const a, b, c core.ClientID = 11, 22, 33
	bodies := [][]byte{
		kvInput(core.KVPut, "k", "x", ""),                           // 0: a#1
		kvInput(core.KVAppend, "k", "y", ""),                        // 1: b#1
		kvInput(core.KVGet, "k", "tag-b2", ""),                      // 2: b#2
		kvInput(core.KVCas, "k", "z", "xy"),                         // 3: a#2
		kvInput(core.KVPut, "j", "gap", ""),                         // 4: a#4, skips a number
		kvInput(core.KVAppend, "k", "late", ""),                     // 5: b#3, after b's eviction
		kvInput(core.KVAppend, "k", "w", ""),                        // 6: c#1
		kvInput(core.KVGet, "k", "tag-a3", ""),                      // 7: a#3
		kvInput(core.KVAppend, "k", strings.Repeat("v", 1<<14), ""), // 8: c#2, too long
		kvInput(core.KVCas, "k", "no", "xy"),                        // 9: c#3, fails
		kvInput(core.KVPut, "j", "", ""),                            // 10: a#4, deletes nothing
	}
	senders := []core.ClientID{a, b, b, a, a, b, c, a, c, c, a}
	m := NewModel(2)
	for i, body := range bodies {
		m.Sent(senders[i], body, i)
	}
	log := newChain().
		add(1, registerOf(a), registerOf(b)). // op 1: sessions 1
		add(1, applyOf(a, 1, 1, bodies[0]), applyOf(b, 1, 1, bodies[1]), applyOf(a, 1, 1, bodies[0])).
		add(1, applyOf(b, 1, 2, bodies[2]), applyOf(a, 1, 4, bodies[4]), applyOf(a, 1, 2, bodies[3])).
		add(2, registerOf(c)). // op 4: the table is full; b's latest (op 3, index 0) is older than a's (op 3, index 2)
		add(2, applyOf(b, 1, 3, bodies[5]), applyOf(c, 4, 1, bodies[6]), applyOf(a, 1, 3, bodies[7])).
		add(2, applyOf(a, 1, 2, bodies[3]), registerOf(a), applyOf(c, 4, 2, bodies[8])).
		add(3, applyOf(c, 4, 3, bodies[9]), applyOf(a, 1, 4, bodies[10]))
	noViolation(t, "a correct history", replay(m, log))

	want := map[int]core.Op{0: 2, 1: 2, 2: 3, 3: 3, 6: 5, 7: 5, 8: 6, 9: 7, 10: 7} // 4 and 5 never run
	position := 0
	for i := range bodies {
		e, ran := m.Execution(i)
		if op, ok := want[i]; ran != ok || e.Op != op {
			t.Fatalf("operation %d ran=%v at op %d, want ran=%v at op %d", i, ran, e.Op, ok, op)
		}
		if ran {
			position++
			if e.Position != position {
				t.Fatalf("operation %d at position %d, want %d", i, e.Position, position)
			}
		}
	}
	if e, _ := m.Execution(8); !e.Invalid {
		t.Fatalf("an append beyond the value bound ran as valid: %+v", e)
	}

	// The reference store, fed the executed bodies in the model's order.
	kv := core.NewKV()
	next := 0
	order := []int{0, 1, 2, 3, 6, 7, 8, 9, 10}
	for op := core.Op(1); op <= log.head(); op++ {
		for next < len(order) {
			e, _ := m.Execution(order[next])
			if e.Op != op {
				break
			}
			out, err := core.DecodeKVOutput(kv.Apply(op, 0, bodies[order[next]], nil))
			if err != nil {
				t.Fatal(err)
			}
			if out.Invalid != e.Invalid || (!e.Invalid && (out.Value != e.Output.Value || out.Swapped != e.Output.Swapped)) {
				t.Fatalf("operation %d: the store answers %+v, the model %+v", order[next], out, e)
			}
			next++
		}
		if kv.Digest() != m.Digest(op) {
			t.Fatalf("after op %d the store's digest is %v, the model's %v", op, kv.Digest(), m.Digest(op))
		}
		noViolation(t, "the store's own digest", m.CheckDigest(uint64(op), 0, op, kv.Digest()))
	}
	if e, _ := m.Execution(7); e.Output.Value != "zw" {
		t.Fatalf("a#3 read %q, want zw", e.Output.Value)
	}
}

// TestModelCatchesPhantoms plants requests no client sent: a body never sent, a body sent
// by another client, a body altered on the way.
func TestModelCatchesPhantoms(t *testing.T) {
	const a, b core.ClientID = 11, 22
	sent := kvInput(core.KVPut, "k", "a.1", "")
	for _, c := range []struct {
		name    string
		planted core.Request
	}{
		{"never sent", applyOf(a, 1, 1, kvInput(core.KVPut, "k", "forged", ""))},
		{"another client's", applyOf(b, 1, 1, sent)},
		{"altered on the way", applyOf(a, 1, 1, kvInput(core.KVPut, "k", "a.2", ""))},
		{"a get, never sent", applyOf(a, 1, 1, kvInput(core.KVGet, "k", "", ""))},
		{"not a key-value op", applyOf(a, 1, 1, []byte("garbage"))},
	} {
		name, planted := c.name, c.planted
		t.Run(name, func(t *testing.T) {
			m := NewModel(4)
			m.Sent(a, sent, 0)
			log := newChain().add(1, registerOf(a), registerOf(b)).add(1, planted)
			violations := replay(m, log)
			onlyInvariant(t, violations, "no phantoms")
			if len(violations) != 1 || !strings.HasPrefix(violations[0].Detail, "op 2 ran request 1 of client") {
				t.Fatalf("violations %v, want one at op 2", violations)
			}
			if _, ran := m.Execution(0); ran {
				t.Fatal("the phantom was taken for the operation the client sent")
			}
		})
	}
}

// TestModelCatchesASecondExecution plants one sent operation committed twice where both
// copies run: under the next request number of the same session (a primary numbering a
// retry afresh), and in a new session after an eviction (a client resending across it).
func TestModelCatchesASecondExecution(t *testing.T) {
	const a, b core.ClientID = 11, 22
	body := kvInput(core.KVAppend, "k", "a.1", "")
	t.Run("next request number", func(t *testing.T) {
		m := NewModel(4)
		m.Sent(a, body, 0)
		log := newChain().add(1, registerOf(a)).add(1, applyOf(a, 1, 1, body)).add(1, applyOf(a, 1, 2, body))
		violations := replay(m, log)
		onlyInvariant(t, violations, "exactly once")
		if len(violations) != 1 || !strings.Contains(violations[0].Detail, "ran at op 2 and again at op 3") {
			t.Fatalf("violations %v", violations)
		}
		// The state shows it too: the value holds the append twice.
		if e, _ := m.Execution(0); e.Op != 2 {
			t.Fatalf("the first execution is lost: %+v", e)
		}
	})
	t.Run("new session", func(t *testing.T) {
		m := NewModel(1)
		m.Sent(a, body, 0)
		log := newChain().add(1, registerOf(a)).add(1, applyOf(a, 1, 1, body)).
			add(1, registerOf(b)). // evicts a
			add(1, registerOf(a)). // evicts b; a's session is 4
			add(1, applyOf(a, 4, 1, body))
		violations := replay(m, log)
		onlyInvariant(t, violations, "exactly once")
		if len(violations) != 1 || !strings.Contains(violations[0].Detail, "ran at op 2 and again at op 5") {
			t.Fatalf("violations %v", violations)
		}
	})
	t.Run("retries that must not run raise nothing", func(t *testing.T) {
		m := NewModel(1)
		m.Sent(a, body, 0)
		log := newChain().add(1, registerOf(a)).add(1, applyOf(a, 1, 1, body), applyOf(a, 1, 1, body)).
			add(2, applyOf(a, 1, 1, body)).
			add(2, registerOf(b)).add(2, applyOf(a, 1, 1, body)) // a's session is gone
		noViolation(t, "duplicates and a request of an evicted session", replay(m, log))
	})
}

// TestModelCatchesADivergentDigest: a replica whose state after op n is not the model's is
// named with the op; a digest of an op the model has not seen yet is not judged.
func TestModelCatchesADivergentDigest(t *testing.T) {
	const a core.ClientID = 11
	body := kvInput(core.KVPut, "k", "a.1", "")
	m := NewModel(1)
	m.Sent(a, body, 0)
	noViolation(t, "replay", replay(m, newChain().add(1, registerOf(a)).add(1, applyOf(a, 1, 1, body))))
	kv := core.NewKV()
	noViolation(t, "the empty store after op 1", m.CheckDigest(5, 2, 1, kv.Digest()))
	kv.Apply(2, 0, body, nil)
	noViolation(t, "the store after op 2", m.CheckDigest(5, 2, 2, kv.Digest()))
	noViolation(t, "an op the model has not seen", m.CheckDigest(5, 2, 3, core.Checksum{Lo: 1}))

	kv.Apply(2, 0, kvInput(core.KVAppend, "k", "again", ""), nil) // one write too many
	violations := m.CheckDigest(5, 2, 2, kv.Digest())
	onlyInvariant(t, violations, "convergence")
	if v := violations[0]; v.Replica != 2 || v.Tick != 5 || !strings.Contains(v.Detail, "after op 2") {
		t.Fatalf("violation %v, want replica 2 after op 2", v)
	}
	violations = m.CheckDigest(6, 0, 1, kv.Digest()) // a replica that ran op 2's write at op 1
	onlyInvariant(t, violations, "convergence")
}
