package lincheck

import (
	"fmt"
	"sort"
)

// orderBlocks finds a cycle in the must-precede relation of the blocks, if there is one.
// Block i precedes j iff lo(i) < hi(j), and a cycle exists iff a two-cycle does: two
// forward blocks (lo < hi) whose open spans overlap, or a backward block (hi <= lo) lying
// strictly inside a forward one. The initial block must precede everything.
func (f *fastChecker) orderBlocks(blocks []block) *fastOutcome {
	for i := range blocks {
		if !blocks[i].initial {
			continue
		}
		for j := range blocks {
			if j != i && blocks[j].lo < blocks[i].hi {
				return f.initialFirst(blocks[j], blocks[i])
			}
		}
	}
	var fwd []int
	for i, b := range blocks {
		if b.lo < b.hi {
			fwd = append(fwd, i)
		}
	}
	sort.Slice(fwd, func(x, y int) bool { return blocks[fwd[x]].lo < blocks[fwd[y]].lo })
	for k, widest := 1, 0; k < len(fwd); k++ {
		if blocks[fwd[k]].lo < blocks[fwd[widest]].hi {
			return f.twoCycle(blocks[fwd[widest]], blocks[fwd[k]])
		}
		if blocks[fwd[k]].hi > blocks[fwd[widest]].hi {
			widest = k
		}
	}
	for _, b := range blocks {
		if b.lo < b.hi {
			continue
		}
		k := sort.Search(len(fwd), func(k int) bool { return blocks[fwd[k]].lo >= b.hi }) - 1
		if k >= 0 && b.lo < blocks[fwd[k]].hi {
			return f.twoCycle(blocks[fwd[k]], b)
		}
	}
	return nil
}

// twoCycle explains why blocks a and b must each precede the other.
func (f *fastChecker) twoCycle(a, b block) *fastOutcome {
	return &fastOutcome{verdict: NotLinearizable, lines: []string{
		f.d.op(f.ops[a.loOp]), "finished before", f.d.op(f.ops[b.hiOp]),
		fmt.Sprintf("began, so %s came before %s; but", f.label(a.loOp), f.label(b.hiOp)),
		f.d.op(f.ops[b.loOp]), "finished before", f.d.op(f.ops[a.hiOp]),
		fmt.Sprintf("began, so %s came before %s.", f.label(b.loOp), f.label(a.hiOp)),
	}}
}

// initialFirst explains why block b cannot come after the initial block.
func (f *fastChecker) initialFirst(b, initial block) *fastOutcome {
	first := f.label(initial.hiOp)
	why := "but the key holds that value only at the start, before any write."
	if o := f.ops[initial.hiOp]; o.Input.Op != OpGet || o.Output.Value != "" {
		why = fmt.Sprintf("but that value grew from the initial value %s, before any other write.", f.d.value(""))
	}
	return &fastOutcome{verdict: NotLinearizable, lines: []string{
		f.d.op(f.ops[b.loOp]), "finished before", f.d.op(f.ops[initial.hiOp]),
		fmt.Sprintf("began, so %s came before %s; %s", f.label(b.loOp), first, why),
	}}
}

// witness lays the blocks out in an order that respects real time, given no two-cycle:
// the initial block, then by lo+hi, which every must-precede edge increases.
func (f *fastChecker) witness(blocks []block) []int {
	sort.SliceStable(blocks, func(i, j int) bool {
		a, b := blocks[i], blocks[j]
		if a.initial != b.initial {
			return a.initial
		}
		if a.lo+a.hi != b.lo+b.hi {
			return a.lo+a.hi < b.lo+b.hi
		}
		return a.lo < b.lo
	})
	var seq []int
	for _, b := range blocks {
		seq = append(seq, b.ops...)
	}
	return seq
}

// placeFailedCAS inserts each cas that answered swapped=false into the witness, at a place
// real time allows where the key did not hold the value it expected. A failed cas whose
// expected value the key can never hold constrains nothing and is left out. Placement is a
// heuristic (the earliest gap that works); replay judges it, and the fast path gives up
// when it fails.
func (f *fastChecker) placeFailedCAS(seq []int) ([]int, bool) {
	if len(f.failedCAS) == 0 {
		return seq, true
	}
	g := f.newGaps(seq)
	sort.SliceStable(f.failedCAS, func(x, y int) bool {
		return f.ops[f.failedCAS[x]].Invoke < f.ops[f.failedCAS[y]].Invoke
	})
	at := make([]int, len(f.ops)) // failed cas -> gap
	var placed []int              // failed cas placed so far, by invocation
	for _, c := range f.failedCAS {
		node, possible := f.expectedNode(c)
		f.included[c] = possible
		if !possible {
			continue
		}
		lo, hi := g.bounds(f.ops[c].Invoke, f.resp[c])
		// A failed cas that finished before this one began must not come after it.
		for _, p := range placed {
			if f.resp[p] < f.ops[c].Invoke {
				lo = max(lo, at[p])
			}
		}
		if lo <= hi && g.stateAt[lo] == node {
			lo = g.spanEnd[node] + 1
		}
		if lo > hi {
			return nil, false
		}
		at[c] = lo
		placed = append(placed, c)
	}
	return g.insert(seq, placed, at), true
}

// gaps describes the places between the operations of a witness: gap p is before seq[p].
type gaps struct {
	prefMaxInv, sufMinResp []int64
	// stateAt names the state in each gap by the node of the last write before it;
	// spanEnd is the last gap of each node's state.
	stateAt []int
	spanEnd map[int]int
}

func (f *fastChecker) newGaps(seq []int) *gaps {
	n := len(seq)
	g := &gaps{
		prefMaxInv: make([]int64, n+1), sufMinResp: make([]int64, n+1),
		stateAt: make([]int, n+1), spanEnd: map[int]int{0: 0},
	}
	g.prefMaxInv[0], g.sufMinResp[n] = -never, never
	for p, i := range seq {
		g.prefMaxInv[p+1] = max(g.prefMaxInv[p], f.ops[i].Invoke)
		g.stateAt[p+1] = g.stateAt[p]
		if f.ops[i].Input.Op != OpGet {
			// After a free append the state is not a node's, but it ends with that
			// append's value, so a cas expecting a value ending so is kept away from it.
			g.stateAt[p+1] = i + 1
		}
		g.spanEnd[g.stateAt[p+1]] = p + 1
	}
	for p := n - 1; p >= 0; p-- {
		g.sufMinResp[p] = min(g.sufMinResp[p+1], f.resp[seq[p]])
	}
	return g
}

// bounds returns the gaps an operation invoked at inv and answered at resp may occupy:
// after everything that finished before inv, before everything that began after resp.
func (g *gaps) bounds(inv, resp int64) (lo, hi int) {
	n := len(g.stateAt)
	lo = sort.Search(n, func(p int) bool { return g.sufMinResp[p] >= inv })
	hi = sort.Search(n, func(p int) bool { return g.prefMaxInv[p] > resp }) - 1
	return lo, hi
}

// insert merges the placed operations into seq at their gaps; within a gap, in the order
// they were placed (by invocation).
func (g *gaps) insert(seq, placed, at []int) []int {
	sort.SliceStable(placed, func(x, y int) bool { return at[placed[x]] < at[placed[y]] })
	out := make([]int, 0, len(seq)+len(placed))
	k := 0
	for p := 0; p <= len(seq); p++ {
		for ; k < len(placed) && at[placed[k]] == p; k++ {
			out = append(out, placed[k])
		}
		if p < len(seq) {
			out = append(out, seq[p])
		}
	}
	return out
}

// expectedNode returns the node whose state a failed cas expected, -1 if that is unclear,
// and false if the key can never hold that value.
func (f *fastChecker) expectedNode(c int) (int, bool) {
	node, ways := f.lastWrite(f.ops[c].Input.Expected)
	switch {
	case ways == 0:
		return 0, false
	case ways > 1:
		return -1, true
	}
	return node, true
}

// replay checks the witness: real time is respected, every completed operation is in it
// exactly once, and the model gives every answer the clients saw.
func (f *fastChecker) replay(seq []int) string {
	var state []byte
	maxInv, maxOp := -never, -1
	seen := make([]bool, len(f.ops))
	for _, i := range seq {
		o := f.ops[i]
		if seen[i] || !f.included[i] {
			return fmt.Sprintf("%s is misplaced", f.d.op(o))
		}
		seen[i] = true
		if f.resp[i] < maxInv {
			return fmt.Sprintf("%s finished before %s began", f.d.op(o), f.d.op(f.ops[maxOp]))
		}
		if o.Invoke > maxInv {
			maxInv, maxOp = o.Invoke, i
		}
		var ok bool
		if state, ok = replayStep(state, o); !ok {
			return fmt.Sprintf("%s does not fit the value %s", f.d.op(o), f.d.value(string(state)))
		}
	}
	for i, o := range f.ops {
		if !seen[i] && f.included[i] {
			return fmt.Sprintf("%s is missing", f.d.op(o))
		}
	}
	return ""
}

// replayStep is KVStep on a growing byte slice, so that replaying a key with many appends
// costs the length of the history rather than its square.
func replayStep(state []byte, o Operation) ([]byte, bool) {
	in := o.Input
	switch in.Op {
	case OpGet:
		return state, o.Pending || string(state) == o.Output.Value
	case OpPut:
		return append(state[:0], in.Value...), true
	case OpAppend:
		return append(state, in.Value...), true
	}
	swapped := string(state) == in.Expected
	if !o.Pending && swapped != o.Output.Swapped {
		return state, false
	}
	if swapped {
		state = append(state[:0], in.Value...)
	}
	return state, true
}
