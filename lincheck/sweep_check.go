package lincheck

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// runSweep decides, in parallel, every part the techniques before it left undecided.
func (c *check) runSweep(results []partResult) {
	runUndecided(results, func(i int) partResult { return c.sweepPart(c.parts[i]) })
}

// beams are the widths the sweep starts with, in turn; 0 is exact. A beam that reaches the
// end proves the key linearizable; one that dies, even widened around its dead ends (run),
// points at where a window no order explains may be; the exact sweep is the last resort.
var beams = []int{64, 0}

// sweepPart runs the sweep on one part, if it applies.
func (c *check) sweepPart(p part) partResult {
	res := partResult{verdict: Unknown, method: MethodSweep}
	for _, beam := range beams {
		s, why := newSweep(p.ops)
		if s == nil {
			res.lines = []string{"the sweep does not apply: " + why}
			return res
		}
		if n := openAtMost(s.events, s.ops); n > slotMax {
			res.lines = []string{fmt.Sprintf("the sweep does not apply: %d operations open at once (it holds %d)", n, slotMax)}
			return res
		}
		s.deadline, s.beam = c.deadline, beam
		out := s.run()
		res.verdict, res.lines = out.verdict, out.lines
		if out.verdict == Linearizable {
			return res
		}
		if out.lostAt >= 0 {
			failed := s.events[out.lostAt].op
			if w := refuteWindow(p.ops, failed, 4096, c.deadline); w != nil {
				res.verdict, res.window = NotLinearizable, w
				res.lines = c.describeWindow(p, w)
				return res
			}
		}
		if out.verdict == NotLinearizable {
			// No short window: the whole stretch since the last quiescent cut is the
			// explanation, from the values the key may hold there.
			res.window = out.window
			res.lines = c.describeWindow(p, out.window)
			return res
		}
		if c.expired() {
			return res
		}
	}
	return res
}

func (c *check) expired() bool {
	_, ok := c.remaining()
	return !ok
}

// describeWindow explains a window no order explains: where it starts and ends, the
// values the key may hold at its start, and its operations.
func (c *check) describeWindow(p part, w *sweepWindow) []string {
	const shown = 12
	var starts []string
	for _, v := range w.starts {
		if v == unobservedName {
			starts = append(starts, v)
		} else {
			starts = append(starts, c.d.value(v))
		}
	}
	from := "from the value " + strings.Join(starts, " or ") + " the key may hold there"
	if w.open != nil || len(starts) > 1 && w.from > 0 {
		from = "from any value the key may hold there"
	}
	unit := c.d.timeUnit
	lines := []string{fmt.Sprintf("no order explains the %d operations answered between %s %d and %s %d, %s%s%s; "+
		"the answer no order reaches:", len(w.ops), unit, w.from, unit, w.to, from, c.openNote(w), c.crashedNote(w)),
		"  " + c.d.op(p.ops[w.failed]), "the window's operations:"}
	for k, i := range w.ops {
		if k == shown {
			lines = append(lines, fmt.Sprintf("  (and %d more)", len(w.ops)-shown))
			break
		}
		lines = append(lines, "  "+c.d.op(p.ops[i]))
	}
	return lines
}

func (c *check) openNote(w *sweepWindow) string {
	if len(w.open) == 0 {
		return ""
	}
	return fmt.Sprintf(", with the %d operations open at its start or end free to take effect in it or not", len(w.open))
}

func (c *check) crashedNote(w *sweepWindow) string {
	switch len(w.crashed) {
	case 0:
		return ""
	case 1:
		return ", with 1 crashed operation that may take effect in it"
	}
	return fmt.Sprintf(", with %d crashed operations that may take effect in it", len(w.crashed))
}

// windowOps is a window as porcupine sees it: its operations, and the crashed operations
// that may take effect in it, invoked no earlier than its start. Porcupine's search grows
// with every pending operation, so only as many of each kind are kept as can matter: one
// use of a write of v matters only if an operation of the window then observes v (a read
// of it, a cas expecting it), or a cas of the window fails and needs some other value.
func (c *check) windowOps(p part, w *sweepWindow) []porcupine.Operation {
	var ops []Operation
	observers := map[string]int{}
	failed := 0
	for _, i := range w.ops {
		o := p.ops[i]
		ops = append(ops, o)
		switch {
		case o.Input.Op == OpGet:
			observers[o.Output.Value]++
		case o.Input.Op == OpCAS:
			observers[o.Input.Expected]++
			if !o.Output.Swapped {
				failed++
			}
		}
	}
	taken := map[KVInput]int{}
	for _, i := range append(append([]int(nil), w.crashed...), w.open...) {
		o := p.ops[i]
		if taken[o.Input] >= observers[o.Input.Value]+failed {
			continue
		}
		taken[o.Input]++
		o.Invoke = max(o.Invoke, w.from)
		o.Pending, o.Output = true, KVOutput{}
		ops = append(ops, o)
	}
	return c.porcupineOps(ops)
}

// windowModel is the check's model started from any of the window's starting values: a
// nondeterministic model whose set of states porcupine tracks, so that the visualisation
// shows the window on its own.
func (c *check) windowModel(w *sweepWindow) porcupine.Model {
	base := c.porcupineModel(nil)
	var inits []any
	for _, v := range w.starts {
		if c.model == ModelRegister {
			inits = append(inits, registerState(v))
		} else {
			inits = append(inits, v)
		}
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return inits },
		Step: func(state, input, output any) []any {
			ok, next := base.Step(state, input, output)
			if !ok {
				return nil
			}
			return []any{next}
		},
		Equal:             func(a, b any) bool { return a == b },
		DescribeOperation: base.DescribeOperation,
		DescribeState:     base.DescribeState,
	}
	return nm.ToModel()
}

// registerState is a register holding a value as the sweep names it: "" is nil, and a value
// nobody reads is any integer nobody reads (the sweep's placeholder is not one).
func registerState(v string) RegisterState {
	if v == "" {
		return RegisterState{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return RegisterState{Value: -1 << 62, Present: true}
	}
	return RegisterState{Value: n, Present: true}
}
