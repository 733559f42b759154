package checker

import (
	"fmt"
	"sort"

	"github.com/vsrsim/vsrsim/lincheck"
)

// CheckWitness is the fast linearizability check of a run's client history: the canonical
// commit order, as the model replayed it, is the witness. It holds when
//
//   - every operation a client heard back from ran, at the op its reply named, and the
//     client heard exactly what the model returns at that point of the order;
//   - the order respects real time: an operation that completed before another was invoked
//     ran before it.
//
// Then the commit order is a linearization, found in O(n log n) instead of searched for.
// ops[i] must be history operation i as recorded with Model.Sent.
func CheckWitness(ops []Operation, m *Model) []Violation {
	var violations []Violation
	for i := range ops {
		violations = append(violations, CheckReply(ops, i, m)...)
	}
	return append(violations, CheckRealTime(ops, m)...)
}

// CheckReply checks one answered operation against the model: it ran, at the op its reply
// named, and returned what the client heard. The simulator calls it as each reply arrives,
// so a broken promise is reported at the tick it is made.
func CheckReply(ops []Operation, i int, m *Model) []Violation {
	op := &ops[i]
	if op.Pending {
		return nil
	}
	violation := func(invariant, format string, args ...any) []Violation {
		return []Violation{{Tick: uint64(op.Response), Replica: -1, Invariant: invariant,
			Detail: fmt.Sprintf(format, args...)}}
	}
	e, ok := m.Execution(i)
	switch {
	case !ok:
		return violation("durability", "client %d heard back at op %d for %s, which never ran in the canonical history",
			op.Client, op.OpNumber, lincheck.DescribeInput(op.Input))
	case uint64(e.Op) != op.OpNumber:
		return violation("durability", "client %d's reply named op %d for %s, which ran at op %d",
			op.Client, op.OpNumber, lincheck.DescribeInput(op.Input), e.Op)
	case e.Invalid || !lincheck.OutputMatches(op.Input.Op, e.Output, op.Output):
		return violation("linearizability", "client %d heard %s, but in commit order (op %d) it returns %s",
			op.Client, lincheck.DescribeCall(op.Input, op.Output), e.Op, lincheck.DescribeCall(op.Input, e.Output))
	}
	return nil
}

// CheckRealTime finds operations that ran before one that had already completed when they
// were invoked: the half of CheckWitness for a run whose replies were checked as they came.
func CheckRealTime(ops []Operation, m *Model) []Violation {
	type entry struct {
		i        int
		at       int64
		position int
	}
	completed, invoked := make([]entry, 0, len(ops)), make([]entry, 0, len(ops))
	for i := range ops {
		e, ok := m.Execution(i)
		if !ok {
			continue
		}
		if !ops[i].Pending {
			completed = append(completed, entry{i, ops[i].Response, e.Position})
		}
		invoked = append(invoked, entry{i, ops[i].Invoke, e.Position})
	}
	sort.Slice(completed, func(a, b int) bool { return completed[a].at < completed[b].at })
	sort.Slice(invoked, func(a, b int) bool { return invoked[a].at < invoked[b].at })
	var violations []Violation
	latest := entry{i: -1}
	next := 0
	for _, b := range invoked {
		for next < len(completed) && completed[next].at < b.at {
			if completed[next].position > latest.position {
				latest = completed[next]
			}
			next++
		}
		if latest.i >= 0 && latest.position > b.position {
			a := &ops[latest.i]
			violations = append(violations, Violation{Tick: uint64(b.at), Replica: -1, Invariant: "linearizability",
				Detail: fmt.Sprintf("client %d's %s completed at tick %d, before client %d invoked %s at tick %d, yet ran after it",
					a.Client, lincheck.DescribeInput(a.Input), a.Response, ops[b.i].Client, lincheck.DescribeInput(ops[b.i].Input), b.at)})
		}
	}
	return violations
}
