package checker

import (
	"fmt"

	"github.com/vsrsim/vsrsim/core"
)

// ExecutedLog is what the commit checker reads of a replica: how far it executed, and the
// header and prepare of every executed op.
type ExecutedLog interface {
	CommitMin() core.Op
	// ExecutedFrom is the lowest executed op whose header the replica holds: the
	// checkpoint its state was restored from, 0 when it executed from the root.
	ExecutedFrom() core.Op
	ExecutedHeader(op core.Op) core.PrepareHeader
	ExecutedPrepare(op core.Op) []byte
}

// Violation is one broken invariant: when, where, which, and the facts that disagree.
type Violation struct {
	Tick      uint64
	Replica   int // -1 when no single replica is to blame
	Invariant string
	Detail    string
}

func (v Violation) String() string {
	who := "cluster"
	if v.Replica >= 0 {
		who = fmt.Sprintf("replica %d", v.Replica)
	}
	return fmt.Sprintf("tick %d, %s: %s: %s", v.Tick, who, v.Invariant, v.Detail)
}

// Commits checks that there is one history: the first replica to execute op n fixes which
// prepare op n is, and every replica that executes op n later executes the same one; ops
// execute one at a time, in order, each linking to the one before (the hash chain). Each op
// that becomes canonical is handed to OnCanonical (the model replays it).
type Commits struct {
	canonical   [][]core.PrepareHeader // by op, in chunks so growing never copies; the root at 0
	ops         core.Op                // canonical ops, the root included
	checked     []core.Op              // per replica: executed ops already compared
	OnCanonical func(op core.Op, prepare []byte)
}

// NewCommits starts the check for a cluster whose logs begin with root.
func NewCommits(replicas int, root core.PrepareHeader) *Commits {
	c := &Commits{checked: make([]core.Op, replicas)}
	c.add(root)
	return c
}

const canonicalChunk = 1024

func (c *Commits) add(h core.PrepareHeader) {
	if c.ops%canonicalChunk == 0 {
		c.canonical = append(c.canonical, make([]core.PrepareHeader, 0, canonicalChunk))
	}
	last := len(c.canonical) - 1
	c.canonical[last] = append(c.canonical[last], h)
	c.ops++
}

func (c *Commits) at(op core.Op) *core.PrepareHeader {
	return &c.canonical[op/canonicalChunk][op%canonicalChunk]
}

// Restarted forgets what a replica had executed: it lost its state and executes again.
func (c *Commits) Restarted(replica int) { c.checked[replica] = 0 }

// Canonical is the op count of the canonical history so far.
func (c *Commits) Canonical() core.Op { return c.ops - 1 }

// CanonicalHeader returns the header of a canonical op.
func (c *Commits) CanonicalHeader(op core.Op) core.PrepareHeader { return *c.at(op) }

// Observe compares what a replica executed since the last look with the canonical history.
// It returns every violation.
func (c *Commits) Observe(tick uint64, replica int, log ExecutedLog) []Violation {
	var violations []Violation
	report := func(invariant, format string, args ...any) {
		violations = append(violations, Violation{Tick: tick, Replica: replica, Invariant: invariant,
			Detail: fmt.Sprintf(format, args...)})
	}
	commit := log.CommitMin()
	if commit < c.checked[replica] {
		report("commits advance", "executed op went back from %d to %d without a restart", c.checked[replica], commit)
		c.checked[replica] = commit
	}
	if from := log.ExecutedFrom(); c.checked[replica] < from && from <= commit {
		// Restored from a checkpoint (a restart, a state transfer): the ops below it were
		// executed by whoever made it; its op must be the canonical one.
		if from >= c.ops {
			report("one history", "restored from a checkpoint of op %d, which no replica executed", from)
		} else if h := log.ExecutedHeader(from); h.Checksum != c.at(from).Checksum {
			report("one history", "restored from a checkpoint of op %d as %v, but it committed as %v",
				from, h.Checksum, c.at(from).Checksum)
		}
		c.checked[replica] = from
	}
	for op := c.checked[replica] + 1; op <= commit; op++ {
		h := log.ExecutedHeader(op)
		if h.Op != op {
			report("one history", "op %d executed with a header of op %d", op, h.Op)
		}
		if op == c.ops {
			if h.Parent != c.at(op-1).Checksum {
				report("hash chain", "op %d has parent %v, but op %d is %v", op, h.Parent, op-1, c.at(op-1).Checksum)
			}
			c.add(h)
			if c.OnCanonical != nil {
				c.OnCanonical(op, log.ExecutedPrepare(op))
			}
			continue
		}
		if want := c.at(op); h.Checksum != want.Checksum {
			report("one history", "op %d executed as %v (view %d), but it committed as %v (view %d)",
				op, h.Checksum, h.View, want.Checksum, want.View)
		}
	}
	c.checked[replica] = commit
	return violations
}
