package lincheck

import (
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// runPorcupine decides, in parallel and under the time limit, every part the fast path
// left undecided. Once one key is found not linearizable the others no longer matter:
// porcupine cannot be cancelled from outside, so the model's step starts refusing every
// transition, which ends the other searches in a quick unwinding. Their answers are then
// discarded; only the first key to fail is trusted.
func (c *check) runPorcupine(results []partResult) {
	var abort atomic.Bool
	model := c.porcupineModel(&abort)
	runUndecided(results, func(i int) partResult { return c.porcupinePart(model, &abort, c.parts[i]) })
}

// porcupinePart checks one part with porcupine.
func (c *check) porcupinePart(model porcupine.Model, abort *atomic.Bool, p part) partResult {
	res := partResult{verdict: Unknown, method: "porcupine"}
	timeout, ok := c.remaining()
	if abort.Load() {
		res.lines = []string{"not checked: another key is not linearizable"}
		return res
	}
	if !ok {
		res.lines = []string{c.gaveUp()}
		return res
	}
	ops := c.porcupineOps(p.ops)
	switch porcupine.CheckOperationsTimeout(model, ops, timeout) {
	case porcupine.Ok:
		res.verdict = Linearizable
	case porcupine.Illegal:
		if !abort.CompareAndSwap(false, true) {
			res.lines = []string{"not decided: another key is not linearizable"}
			return res
		}
		res.verdict, res.lines = NotLinearizable, c.porcupineExplain(p.ops, ops)
	default:
		res.lines = []string{c.gaveUp()}
	}
	return res
}

func (c *check) gaveUp() string {
	limit := c.opts.Timeout
	if limit == 0 {
		limit = DefaultTimeout
	}
	return fmt.Sprintf("gave up: porcupine's search found no answer within the time limit of %v", limit)
}

// remaining is the time left before the deadline; zero means no limit, as for porcupine.
func (c *check) remaining() (time.Duration, bool) {
	if c.deadline.IsZero() {
		return 0, true
	}
	d := time.Until(c.deadline)
	return d, d > 0
}

// porcupineModel is the model of the check; with abort non-nil, its step refuses
// everything once abort is set.
func (c *check) porcupineModel(abort *atomic.Bool) porcupine.Model {
	model := KVModel()
	if c.model == ModelRegister {
		model = RegisterModel()
	}
	if abort != nil {
		step := model.Step
		model.Step = func(state, input, output any) (bool, any) {
			if abort.Load() {
				return false, state
			}
			return step(state, input, output)
		}
	}
	return model
}

// porcupineOps converts operations for porcupine. A pending operation gets no output
// (which the models accept as any answer) and returns after everything else.
func (c *check) porcupineOps(ops []Operation) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	for i, o := range ops {
		var input, output any = o.Input, o.Output
		if c.model == ModelRegister {
			input, output = registerInput(o.Input), registerOutput(o.Input.Op, o.Output)
		}
		ret := o.Response
		if o.Pending {
			output, ret = nil, c.pendingAt
		}
		out[i] = porcupine.Operation{ClientId: o.Client, Input: input, Call: o.Invoke, Output: output, Return: ret}
	}
	return out
}

// porcupineExplain searches again, recording partial linearizations, and describes where
// the longest one got stuck.
func (c *check) porcupineExplain(ops []Operation, pops []porcupine.Operation) []string {
	timeout, ok := c.remaining()
	if !ok {
		timeout = time.Millisecond
	}
	res, info := porcupine.CheckOperationsVerbose(c.porcupineModel(nil), pops, timeout)
	partials := info.PartialLinearizations()
	if res != porcupine.Illegal || len(partials) == 0 {
		return []string{"porcupine found no linearization (no explanation within the time limit)"}
	}
	return c.deadEnd(ops, longestPartial(partials[0]))
}

// longestPartial picks the longest partial linearization, the first in id order on a tie,
// so that explanations do not depend on map iteration inside porcupine.
func longestPartial(partials [][]int) []int {
	sort.Slice(partials, func(i, j int) bool {
		a, b := partials[i], partials[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	if len(partials) == 0 {
		return nil
	}
	return partials[0]
}

// deadEnd describes the end of a longest partial linearization: its last operations, the
// value they leave, and why each operation that could come next does not fit.
func (c *check) deadEnd(ops []Operation, prefix []int) []string {
	const shownPrefix, shownNext = 3, 5
	state := ""
	done := make([]bool, len(ops))
	for _, i := range prefix {
		state, _ = KVStep(state, ops[i].Input)
		done[i] = true
	}
	lines := []string{fmt.Sprintf("no linearization gets past %d of the %d operations; the longest ends", len(prefix), len(ops))}
	if len(prefix) == 0 {
		lines[0] = fmt.Sprintf("no linearization of the %d operations can even start", len(ops))
	}
	for _, i := range prefix[max(0, len(prefix)-shownPrefix):] {
		lines = append(lines, "  "+c.d.op(ops[i]))
	}
	lines = append(lines, fmt.Sprintf("with the value %s, and no operation that may come next fits:", c.d.value(state)))
	next := candidates(ops, done)
	for k, i := range next {
		if k == shownNext {
			lines = append(lines, fmt.Sprintf("  (and %d more)", len(next)-shownNext))
			break
		}
		lines = append(lines, "  "+c.d.op(ops[i])+c.misfit(state, ops[i]))
	}
	return lines
}

// candidates are the operations not yet linearized that no other such operation precedes
// in real time: those that could be linearized next.
func candidates(ops []Operation, done []bool) []int {
	first := never
	for i, o := range ops {
		if !done[i] && !o.Pending {
			first = min(first, o.Response)
		}
	}
	var next []int
	for i, o := range ops {
		if !done[i] && o.Invoke <= first {
			next = append(next, i)
		}
	}
	sort.SliceStable(next, func(a, b int) bool { return ops[next[a]].Invoke < ops[next[b]].Invoke })
	return next
}

// misfit says why an operation does not fit the value.
func (c *check) misfit(state string, o Operation) string {
	_, out := KVStep(state, o.Input)
	switch {
	case o.Pending || OutputMatches(o.Input.Op, out, o.Output):
		return ": fits, but every way on from it fails"
	case o.Input.Op == OpGet:
		return ": would read " + c.d.value(out.Value)
	}
	return fmt.Sprintf(": would answer swapped=%t", out.Swapped)
}

// visualize writes porcupine's HTML visualisation of the key that is not linearizable, or
// of every key, within what is left of the time limit (at least a second, so that a fast
// path verdict still gets a picture, perhaps of a partial search).
//
// When the sweep found the key not linearizable, the picture is of its window alone, from
// the values the key may hold at its start: porcupine then searches a few dozen operations
// rather than the whole key, and shows where they fail.
func (c *check) visualize(path string, res Result) error {
	var ops []porcupine.Operation
	model := c.porcupineModel(nil)
	for _, p := range c.parts {
		switch {
		case res.Verdict == NotLinearizable && p.key == res.Key && c.window != nil:
			ops, model = c.windowOps(p, c.window), c.windowModel(c.window)
		case res.Verdict != NotLinearizable || p.key == res.Key:
			ops = append(ops, c.porcupineOps(p.ops)...)
		}
	}
	timeout, _ := c.remaining()
	if !c.deadline.IsZero() && timeout < time.Second {
		timeout = time.Second
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return fmt.Errorf("cannot write the visualisation: %w", err)
	}
	return nil
}
