package lincheck

import (
	"fmt"
	"sort"
)

// checkFast runs the fast path (see history_fast.go) on the operations of one key. Pending
// gets must already be gone.
func checkFast(ops []Operation, d describer) *fastOutcome {
	f, out := newFastChecker(ops, d)
	if out != nil {
		return out
	}
	if out := f.observe(); out != nil {
		return out
	}
	f.include()
	chains, out := f.chains()
	if out != nil {
		return out
	}
	blocks := make([]block, 0, len(chains))
	for _, chain := range chains {
		b, out := f.chainBlock(chain)
		if out != nil {
			return out
		}
		blocks = append(blocks, b)
	}
	blocks = append(blocks, f.freeBlocks()...)
	if out := f.orderBlocks(blocks); out != nil {
		return out
	}
	seq, ok := f.placeFailedCAS(f.witness(blocks))
	if !ok {
		return giveUp("a cas that did not swap cannot be placed in the witness")
	}
	if why := f.replay(seq); why != "" {
		return giveUp("the fast path's witness does not replay: %s", why)
	}
	return &fastOutcome{verdict: Linearizable}
}

// observe attaches every read to the state it saw and every cas that swapped to the state
// it swapped out, linking the writes those states are made of. Reads go in the order of
// readOrder, so that the decomposer reuses the most work.
func (f *fastChecker) observe() *fastOutcome {
	var reads []int
	for i, o := range f.ops {
		switch {
		case o.Pending:
		case o.Input.Op == OpGet:
			reads = append(reads, i)
		case o.Input.Op == OpCAS && !o.Output.Swapped:
			f.failedCAS = append(f.failedCAS, i)
		}
	}
	sort.SliceStable(reads, func(x, y int) bool {
		return readOrder(f.ops[reads[x]].Output.Value, f.ops[reads[y]].Output.Value)
	})
	for _, i := range reads {
		value := f.ops[i].Output.Value
		node, out := f.stateNode(value)
		if out == nil {
			out = f.unparsed(node, i, "read", value)
		}
		if out != nil {
			return out
		}
		f.reads[node] = append(f.reads[node], i)
	}
	for i, o := range f.ops {
		if !o.Pending && o.Input.Op == OpCAS && o.Output.Swapped {
			if out := f.casFrom(i); out != nil {
				return out
			}
		}
	}
	// A pending cas whose value was observed took effect; its expected value may in turn
	// make another pending cas observed.
	for changed := true; changed; {
		changed = false
		for i, o := range f.ops {
			if o.Pending && o.Input.Op == OpCAS && f.used[i] && f.parent[i+1] == noNode {
				if out := f.casFrom(i); out != nil {
					return out
				}
				changed = true
			}
		}
	}
	return nil
}

// readOrder sorts values by their first bytes, which name the put (or the first appends)
// they grew from, and then by length, so that a value comes right after its prefixes:
// nearly the order of a full sort, without comparing long values byte by byte.
func readOrder(a, b string) bool {
	const head = 16
	ha, hb := a[:min(head, len(a))], b[:min(head, len(b))]
	if ha != hb {
		return ha < hb
	}
	return len(a) < len(b)
}

// casFrom links a cas that swapped to the state it swapped out.
func (f *fastChecker) casFrom(i int) *fastOutcome {
	node, out := f.stateNode(f.ops[i].Input.Expected)
	if out == nil {
		out = f.unparsed(node, i, "swapped out", f.ops[i].Input.Expected)
	}
	if out != nil {
		return out
	}
	return f.link(node, i+1)
}

// unparsed turns a failed decomposition into a proof (no state of the key is that value)
// or a reason to give up (the value can be spelled in two ways).
func (f *fastChecker) unparsed(node, i int, what, value string) *fastOutcome {
	switch node {
	case parseImpossible:
		return f.proof("%s %s a value that no sequence of this key's writes produces", f.d.op(f.ops[i]), what)
	case parseAmbiguous:
		return giveUp("the value %s %s by %s can be spelled by the writes in more than one way",
			f.d.value(value), what, f.d.op(f.ops[i]))
	}
	return nil
}

// include decides which operations the witness holds: completed reads and writes, and the
// pending writes somebody observed. A completed append nobody observed is a free operation.
func (f *fastChecker) include() {
	for i, o := range f.ops {
		switch {
		case o.Input.Op == OpGet:
			f.included[i] = !o.Pending
		case !f.mayWrite(i):
		case o.Pending:
			f.included[i] = f.used[i]
		default:
			f.included[i] = true
		}
	}
}

func (f *fastChecker) isFree(i int) bool {
	return f.included[i] && f.ops[i].Input.Op == OpAppend && !f.used[i]
}

// chains walks the links from each root: the initial state and every put. A write left
// unvisited sits on a cycle of cas operations, each swapping out the value of the next.
func (f *fastChecker) chains() ([][]int, *fastOutcome) {
	visited := make([]bool, len(f.ops)+1)
	var chains [][]int
	walk := func(root int) {
		var chain []int
		for node := root; node != noNode; node = f.child[node] {
			chain = append(chain, node)
			visited[node] = true
		}
		chains = append(chains, chain)
	}
	if len(f.reads[0]) > 0 || f.child[0] != noNode {
		walk(0)
	}
	for i, o := range f.ops {
		if f.included[i] && o.Input.Op == OpPut {
			walk(i + 1)
		}
	}
	for i := range f.ops {
		if f.included[i] && f.mayWrite(i) && !f.isFree(i) && !visited[i+1] {
			return nil, f.proof("%s swapped out a value that only a later write of its own chain of cas operations produces", f.d.op(f.ops[i]))
		}
	}
	return chains, nil
}

// block is a contiguous stretch of the witness: a chain, or one free operation.
type block struct {
	ops        []int
	lo, hi     int64 // earliest response, latest invocation
	loOp, hiOp int
	initial    bool
}

func (b *block) add(f *fastChecker, i int) {
	if len(b.ops) == 0 || f.resp[i] < b.lo {
		b.lo, b.loOp = f.resp[i], i
	}
	if len(b.ops) == 0 || f.ops[i].Invoke > b.hi {
		b.hi, b.hiOp = f.ops[i].Invoke, i
	}
	b.ops = append(b.ops, i)
}

// chainBlock lays out a chain (each node's writer, then its reads) and checks that no
// operation finished before an operation the chain puts ahead of it began.
func (f *fastChecker) chainBlock(chain []int) (block, *fastOutcome) {
	b := block{initial: chain[0] == 0}
	maxInv, maxOp := -never, -1
	level := func(ops []int) *fastOutcome {
		for _, i := range ops {
			if f.resp[i] < maxInv {
				return f.mustFollow(maxOp, i)
			}
		}
		for _, i := range ops {
			if f.ops[i].Invoke > maxInv {
				maxInv, maxOp = f.ops[i].Invoke, i
			}
			b.add(f, i)
		}
		return nil
	}
	for _, node := range chain {
		if node > 0 {
			if out := level([]int{node - 1}); out != nil {
				return b, out
			}
		}
		reads := f.reads[node]
		sort.Slice(reads, func(x, y int) bool { return f.ops[reads[x]].Invoke < f.ops[reads[y]].Invoke })
		if out := level(reads); out != nil {
			return b, out
		}
	}
	return b, nil
}

// mustFollow explains that operation late finished before operation early began although
// the values they saw or wrote put late after early.
func (f *fastChecker) mustFollow(early, late int) *fastOutcome {
	reason := fmt.Sprintf("the key held %s only after %s", f.label(late), f.label(early))
	if f.ops[early].Input.Op != OpGet && f.label(early) == f.label(late) {
		reason = "it saw the value that operation wrote"
	}
	return &fastOutcome{verdict: NotLinearizable, lines: []string{
		f.d.op(f.ops[late]), "finished before", f.d.op(f.ops[early]),
		"began, yet it must be linearized after it: " + reason + ".",
	}}
}

// label names what an operation saw or wrote, for explanations.
func (f *fastChecker) label(i int) string {
	o := f.ops[i]
	switch {
	case o.Input.Op == OpGet:
		return "the value " + f.d.value(o.Output.Value)
	case f.isFree(i):
		return "the append of " + f.d.value(o.Input.Value)
	}
	return "the value " + f.d.value(f.nodeValue(i+1))
}

// freeBlocks makes a block of each free operation.
func (f *fastChecker) freeBlocks() []block {
	var blocks []block
	for i := range f.ops {
		if f.isFree(i) {
			var b block
			b.add(f, i)
			blocks = append(blocks, b)
		}
	}
	return blocks
}
