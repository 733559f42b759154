package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
)

// Committed in fact. A primary commits op n once a replication quorum holds each op up to n;
// the moment that is true, op n is committed, whether or not the primary has heard the acks,
// executed it, or answered anyone, and every later view must keep it (VRR §4.2: a
// view-change quorum meets every replication quorum). The reply checks see a lost op only
// once a client heard of it; this check sees every one. The world counts the prepare_oks as
// they leave the backups (acks.go) and keeps the frontier of what is committed in fact:
//
//   - op F+1 joins it once a quorum holds it in one view (its primary, which prepared it,
//     once its own copy is on disk, and the backups that acknowledged it there: a replica
//     restarts from its disk, and a primary that crashed before its write completed comes
//     back without the op), that view no older than the one in which
//     F joined (a quorum of an older view may have held a prepare the view that committed F
//     replaced: its op below was not yet committed then);
//   - an op within the frontier must become canonical as that very prepare, and no backup
//     may acknowledge another prepare there in the view that committed it or a later one
//     (a backup still normal in an older view, cut off with its primary, may well ack what
//     that primary prepared there: it can never gather a quorum);
//   - at the end, when the core has converged, the frontier lies within the canonical
//     history: no committed op was truncated, never to execute.
//
// A replica that lost its state and recovered may have acknowledged ops before its crash
// that it no longer holds; the protocol keeps its word for it (recoveredOp), and this check
// is how the world knows it did.
const invariantQuorum = "quorum durability"

// ackTally counts who holds the prepare with checksum at an op, in the latest view whose
// acks named it.
type ackTally struct {
	view      core.View
	checksum  core.Checksum
	holders   uint32 // replica bitset, the view's primary included
	committed bool   // within the frontier
}

// quorumState is the frontier and the tallies of the ops above the canonical history.
type quorumState struct {
	tallies  map[core.Op]*ackTally
	frontier core.Op   // every op up to here is committed in fact
	view     core.View // the view in which the frontier's op joined, or a later one
	viewMax  core.View // the highest view any ack named
	// The latest canonical ops and the view that committed each (or a later one), for the
	// acks that still come for them: backups ack at most a pipeline behind their head.
	recent [recentCommits]committedOp
}

const recentCommits = 256 // more than any pipeline (core.HeadersMax)

type committedOp struct {
	op   core.Op
	view core.View
}

// noteAck counts a prepare_ok (one the ack checks passed) toward its op's tally.
func (w *World) noteAck(m *core.PrepareOk) {
	q := &w.quorum
	q.viewMax = max(q.viewMax, m.View)
	if m.Op <= w.commits.Canonical() {
		c := q.recent[m.Op%recentCommits]
		canonical := w.commits.CanonicalHeader(m.Op)
		if c.op == m.Op && m.View >= c.view && canonical.Checksum != m.Prepare {
			w.quorumViolation(int(m.Replica), "prepare_ok in view %d for op %d as %v, committed by view "+
				"%d as %v", m.View, m.Op, m.Prepare, c.view, canonical.Checksum)
		}
		return
	}
	t := q.tallies[m.Op]
	switch {
	case t != nil && t.committed:
		if m.View >= t.view && t.checksum != m.Prepare {
			w.quorumViolation(int(m.Replica), "prepare_ok in view %d for op %d as %v, committed in "+
				"view %d as %v", m.View, m.Op, m.Prepare, t.view, t.checksum)
		}
		return
	case t != nil && m.View < t.view:
		return // a lagging backup's ack of an older view: its quorum is moot
	case t != nil && m.View == t.view && m.Prepare != t.checksum:
		w.quorumViolation(int(m.Replica), "prepare_oks in view %d for op %d as %v and as %v",
			m.View, m.Op, t.checksum, m.Prepare)
		return
	case t == nil || m.View > t.view:
		if t == nil {
			t = &ackTally{}
			q.tallies[m.Op] = t
		}
		*t = ackTally{view: m.View, checksum: m.Prepare}
		w.notePrimaryHolds(m.Op, t)
	}
	t.holders |= 1 << m.Replica
	w.advanceFrontier()
}

// notePrimaryHolds counts the primary of a tally's view among its holders once its own copy
// of the prepare is on disk.
func (w *World) notePrimaryHolds(op core.Op, t *ackTally) {
	primary := uint64(t.view) % uint64(w.config.Replicas)
	if t.holders&(1<<primary) != 0 || w.kernel.State(simnet.Process(primary)) == StateCrashed {
		return
	}
	if w.replicas[primary].HoldsDurably(op, t.checksum) {
		t.holders |= 1 << primary
	}
}

// notePrimariesHold looks, after every tick, for primaries whose own copy of an op above the
// frontier became durable after the first acknowledgement named it.
func (w *World) notePrimariesHold() {
	q := &w.quorum
	for op := q.frontier + 1; ; op++ {
		t := q.tallies[op]
		if t == nil {
			break
		}
		w.notePrimaryHolds(op, t)
	}
	w.advanceFrontier()
}

// advanceFrontier moves the frontier over every op above it that a quorum holds in a view
// no older than the frontier's.
func (w *World) advanceFrontier() {
	q := &w.quorum
	quorum := w.config.QuorumReplication()
	for {
		t := q.tallies[q.frontier+1]
		if t == nil || t.view < q.view || countBits(t.holders) < quorum {
			return
		}
		t.committed = true
		q.frontier++
		q.view = t.view
	}
}

// canonicalQuorum checks a new canonical op against the frontier.
func (w *World) canonicalQuorum(op core.Op) {
	q := &w.quorum
	// Unless the acks showed when it committed, it committed in the latest view at the latest.
	committed := committedOp{op: op, view: q.viewMax}
	if t, ok := q.tallies[op]; ok {
		delete(q.tallies, op)
		if t.committed {
			committed.view = t.view
		}
		if canonical := w.commits.CanonicalHeader(op); t.committed && canonical.Checksum != t.checksum {
			w.quorumViolation(-1, "op %d, committed when a replication quorum held it in view %d as %v, "+
				"executed as %v (view %d)", op, t.view, t.checksum, canonical.Checksum, canonical.View)
		}
	}
	q.recent[op%recentCommits] = committed
	if op > q.frontier {
		// A replica executed beyond what the acks showed committed (its primary knew more, or
		// acks were sent before this world watched): the frontier moves on, and the next op
		// must show a quorum in the latest view.
		q.frontier, q.view = op, q.viewMax
	}
	w.advanceFrontier()
}

// checkQuorumsKept runs at the end of a run whose core converged: every op committed in
// fact has executed.
func (w *World) checkQuorumsKept() {
	q := &w.quorum
	if canonical := w.commits.Canonical(); q.frontier > canonical {
		t := q.tallies[canonical+1]
		w.quorumViolation(-1, "op %d, committed when a replication quorum held it in view %d as %v, is "+
			"lost: the converged core ends at op %d", canonical+1, t.view, t.checksum, canonical)
	}
}

func (w *World) quorumViolation(replica int, format string, args ...any) {
	w.violations = append(w.violations, checker.Violation{Tick: uint64(w.kernel.Now()), Replica: replica,
		Invariant: invariantQuorum, Detail: fmt.Sprintf(format, args...)})
}

func countBits(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
