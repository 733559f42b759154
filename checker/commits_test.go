package checker

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
)

// The commit checker's tests feed Commits.Observe with fake replicas (planted logs) built
// from real, sealed prepares: core.NewEncoder seals each header, and the batches follow the
// layout core/batch.go documents.

const testCluster = 0x5eed

// encodeBatch lays requests out as a prepare's body: per request a 32-byte entry (client,
// session, request number, operation, body length) and the body (core/batch.go).
func encodeBatch(requests ...core.Request) []byte {
	var b []byte
	le := binary.LittleEndian
	for _, m := range requests {
		var entry [32]byte
		le.PutUint64(entry[0:], uint64(m.Client))
		le.PutUint64(entry[8:], uint64(m.Session))
		le.PutUint32(entry[16:], uint32(m.Request))
		entry[20] = byte(m.Operation)
		le.PutUint32(entry[24:], uint32(len(m.Body)))
		b = append(append(b, entry[:]...), m.Body...)
	}
	return b
}

// chain is a log: the root at op 0, then sealed prepares, each linked to the one before.
type chain struct {
	enc      *core.Encoder
	headers  []core.PrepareHeader
	prepares [][]byte
}

func newChain() *chain {
	root, message := core.RootPrepare(testCluster)
	return &chain{enc: core.NewEncoder(testCluster), headers: []core.PrepareHeader{root}, prepares: [][]byte{message}}
}

// head is the last op of the chain.
func (c *chain) head() core.Op { return core.Op(len(c.headers) - 1) }

// add seals the next op, prepared in view, holding requests.
func (c *chain) add(view core.View, requests ...core.Request) *chain {
	op := core.Op(len(c.headers))
	h := core.PrepareHeader{Parent: c.headers[op-1].Checksum, View: view, Op: op, Commit: op - 1,
		Replica: core.ReplicaIndex(uint64(view) % 3), Timestamp: uint64(op) * 1000, Requests: uint32(len(requests))}
	message := append([]byte(nil), c.enc.Prepare(&h, encodeBatch(requests...))...)
	c.headers, c.prepares = append(c.headers, h), append(c.prepares, message)
	return c
}

// addHeader appends a header as given, sealing nothing: for links the code under test
// would never forge.
func (c *chain) addHeader(h core.PrepareHeader, prepare []byte) *chain {
	c.headers, c.prepares = append(c.headers, h), append(c.prepares, prepare)
	return c
}

// upTo is a copy of the chain's first ops, to fork from.
func (c *chain) upTo(op core.Op) *chain {
	return &chain{enc: core.NewEncoder(testCluster), headers: append([]core.PrepareHeader(nil), c.headers[:op+1]...),
		prepares: append([][]byte(nil), c.prepares[:op+1]...)}
}

// noop is a register of a client no one knows: a request that changes nothing the
// commit checker looks at, to fill ops.
func noop(client core.ClientID) core.Request {
	return core.Request{Client: client, Operation: core.OperationRegister}
}

// fakeReplica is what Commits reads of a replica: a log and how far it executed.
type fakeReplica struct {
	log    *chain
	commit core.Op
}

func (f *fakeReplica) CommitMin() core.Op                           { return f.commit }
func (f *fakeReplica) ExecutedFrom() core.Op                        { return 0 }
func (f *fakeReplica) ExecutedHeader(op core.Op) core.PrepareHeader { return f.log.headers[op] }
func (f *fakeReplica) ExecutedPrepare(op core.Op) []byte            { return f.log.prepares[op] }

// chainOf is a log of n ops of one view.
func chainOf(n int) *chain {
	c := newChain()
	for i := 0; i < n; i++ {
		c.add(1, noop(core.ClientID(100+i)))
	}
	return c
}

func newCommitsFor(replicas int) *Commits {
	root, _ := core.RootPrepare(testCluster)
	return NewCommits(replicas, root)
}

// onlyInvariant fails unless every violation is of one invariant, and there is one.
func onlyInvariant(t *testing.T, violations []Violation, invariant string) {
	t.Helper()
	if len(violations) == 0 {
		t.Fatalf("no violation, want %q", invariant)
	}
	for _, v := range violations {
		if v.Invariant != invariant {
			t.Fatalf("violation %q, want only %q: %v", v, invariant, violations)
		}
	}
}

func noViolation(t *testing.T, what string, violations []Violation) {
	t.Helper()
	if len(violations) > 0 {
		t.Fatalf("%s: a false alarm: %v", what, violations)
	}
}

// TestCommitsAgreeingReplicasRaiseNothing: replicas that execute one chain, each at its own
// pace, some jumping many ops at once, one restarting from nothing and executing it all
// again, raise no violation; every op becomes canonical once, in order, with its bytes.
func TestCommitsAgreeingReplicasRaiseNothing(t *testing.T) {
	log := chainOf(12)
	c := newCommitsFor(3)
	var canonical []core.Op
	c.OnCanonical = func(op core.Op, prepare []byte) {
		if !bytes.Equal(prepare, log.prepares[op]) {
			t.Fatalf("op %d handed over with other bytes", op)
		}
		canonical = append(canonical, op)
	}
	replicas := []*fakeReplica{{log: log}, {log: log}, {log: log}}
	steps := []struct {
		replica int
		commit  core.Op
		restart bool
	}{
		{0, 1, false}, {1, 0, false}, {0, 4, false}, {1, 4, false}, {2, 2, false}, {2, 2, false},
		{0, 9, false}, {2, 0, true}, {2, 9, false}, {1, 12, false}, {0, 12, false}, {2, 12, false},
		{1, 0, true}, {1, 12, false},
	}
	for tick, s := range steps {
		if s.restart {
			c.Restarted(s.replica)
		}
		replicas[s.replica].commit = s.commit
		noViolation(t, "agreeing replicas", c.Observe(uint64(tick), s.replica, replicas[s.replica]))
	}
	if c.Canonical() != 12 || len(canonical) != 12 {
		t.Fatalf("canonical %d, handed over %v; want 12 ops", c.Canonical(), canonical)
	}
	for i, op := range canonical {
		if op != core.Op(i+1) || c.CanonicalHeader(op) != log.headers[op] {
			t.Fatalf("op %d handed over as %d-th, or with another header", op, i+1)
		}
	}
}

// TestCommitsCatchADifferentPrepare plants a replica that executes another prepare at op 5
// (same view, same parent, another batch: a second primary, say) after the first replica
// fixed op 5. One history names the op and the replica.
func TestCommitsCatchADifferentPrepare(t *testing.T) {
	log := chainOf(8)
	fork := log.upTo(4).add(1, noop(999)).add(1, noop(1000))
	c := newCommitsFor(2)
	noViolation(t, "first replica", c.Observe(1, 0, &fakeReplica{log: log, commit: 8}))
	violations := c.Observe(2, 1, &fakeReplica{log: fork, commit: 6})
	onlyInvariant(t, violations, "one history")
	v := violations[0]
	if v.Tick != 2 || v.Replica != 1 || !strings.HasPrefix(v.Detail, "op 5 executed as") {
		t.Fatalf("violation %v, want replica 1's op 5 at tick 2", v)
	}
	// Op 6 is the fork's too, linked to the wrong op 5: reported as well, not silently
	// taken as canonical.
	if len(violations) != 2 || !strings.HasPrefix(violations[1].Detail, "op 6") {
		t.Fatalf("violations %v, want ops 5 and 6", violations)
	}
}

// TestCommitsCatchADivergenceAfterARestart: a restart resets what was compared, not what is
// canonical; a replica that comes back and executes another history is caught.
func TestCommitsCatchADivergenceAfterARestart(t *testing.T) {
	log := chainOf(6)
	fork := log.upTo(2).add(2, noop(999))
	c := newCommitsFor(2)
	noViolation(t, "first replica", c.Observe(1, 0, &fakeReplica{log: log, commit: 6}))
	noViolation(t, "second replica", c.Observe(2, 1, &fakeReplica{log: log, commit: 6}))
	c.Restarted(1)
	violations := c.Observe(3, 1, &fakeReplica{log: fork, commit: 3})
	onlyInvariant(t, violations, "one history")
	if !strings.HasPrefix(violations[0].Detail, "op 3 executed as") || !strings.Contains(violations[0].Detail, "(view 2)") {
		t.Fatalf("violation %v, want op 3 in view 2", violations[0])
	}
}

// TestCommitsCatchABrokenHashChain plants an op whose parent is not the op before it, in
// the history that becomes canonical: nobody else contradicts it, only the chain does.
func TestCommitsCatchABrokenHashChain(t *testing.T) {
	log := chainOf(3)
	// Another history's op 4, sealed and well formed, but linked to that history's op 3.
	stranger := newChain().add(2, noop(7)).add(2, noop(8)).add(2, noop(9)).add(2, noop(10))
	log.addHeader(stranger.headers[4], stranger.prepares[4])
	c := newCommitsFor(1)
	violations := c.Observe(7, 0, &fakeReplica{log: log, commit: 4})
	onlyInvariant(t, violations, "hash chain")
	if len(violations) != 1 || !strings.HasPrefix(violations[0].Detail, "op 4 has parent") {
		t.Fatalf("violations %v, want one, at op 4", violations)
	}
}

// TestCommitsCatchAHeaderOfAnotherOp plants a replica whose executed op 3 carries the
// header of its op 2 (an off-by-one in the journal's index).
func TestCommitsCatchAHeaderOfAnotherOp(t *testing.T) {
	log := chainOf(4)
	shifted := log.upTo(2).addHeader(log.headers[2], log.prepares[2])
	c := newCommitsFor(2)
	noViolation(t, "first replica", c.Observe(1, 0, &fakeReplica{log: log, commit: 4}))
	violations := c.Observe(2, 1, &fakeReplica{log: shifted, commit: 3})
	onlyInvariant(t, violations, "one history")
	if !strings.Contains(violations[0].Detail, "op 3 executed with a header of op 2") {
		t.Fatalf("violation %v, want op 3 with op 2's header", violations[0])
	}
}

// TestCommitsCatchExecutionGoingBack: a replica's executed op falls without a restart (it
// undid executed ops). After a restart the same fall is expected and raises nothing.
func TestCommitsCatchExecutionGoingBack(t *testing.T) {
	log := chainOf(6)
	c := newCommitsFor(1)
	r := &fakeReplica{log: log, commit: 5}
	noViolation(t, "first look", c.Observe(1, 0, r))
	r.commit = 3
	violations := c.Observe(2, 0, r)
	onlyInvariant(t, violations, "commits advance")
	if !strings.Contains(violations[0].Detail, "from 5 to 3") {
		t.Fatalf("violation %v, want 5 to 3", violations[0])
	}
	// Having reported the fall, the checker follows the replica from where it is.
	r.commit = 6
	noViolation(t, "after the fall", c.Observe(3, 0, r))
	c.Restarted(0)
	r.commit = 2
	noViolation(t, "after a restart", c.Observe(4, 0, r))
}
