package lincheck

import (
	"fmt"
	"sort"
)

// The fast path decides one key's history in polynomial time when every value written to
// the key is unique, which is how vsrsim's clients write ("c3.7": client 3's seventh
// request) and how the EDN logs do ("x 3 7 y").
//
// Unique values pin the history down. Every state the key can be in is a base (the initial
// "", or the value of a put or of a cas) followed by appended values, and when that
// decomposition of a string is unique, each read names the exact writes it saw and in
// which order: a read of "p" + "a1" + "a2" saw put p, then append a1, then append a2, with
// nothing in between. This generalises Gibbons and Korach's read-mapping check for registers
// (a read names the write it saw) to appends, whose values spell out the order of the
// appends a read saw, and to a cas, which names the state it swapped out.
//
// Each write that produced an observed state is a node; a node's reads and its writer are
// linearized together, its child's writer right after them. Nodes therefore form chains
// (rooted at the initial state or at a put), and a chain is a contiguous block of any
// linearization, in an order fixed up to the order of reads of one state. What remains is
// to order the blocks, and the free operations (writes nobody observed), consistently with
// real time. A block must precede another if one of its operations finished before one of
// the other's began: block i precedes j iff lo(i) < hi(j), where lo is the earliest
// response and hi the latest invocation in a block. Such a relation has a cycle iff it has
// a two-cycle (with no two-cycle every edge has lo(i)+hi(i) < lo(j)+hi(j)), so the check is
// a sort and a sweep. The block of the initial state must come first.
//
// A violation found this way is a proof, so the fast path reports it with the operations
// involved. A linearizable verdict comes with a witness, the sequence itself, which is
// replayed through KVStep before it is believed. Whatever the fast path cannot handle (a
// value written twice or empty, a read whose decomposition is ambiguous, a cas that failed
// against a value the key may have held and that cannot be placed in the witness) makes it
// give up, and porcupine decides.
//
// Pending operations are handled by what they imply. A pending write whose value somebody
// observed took effect; one nobody observed can be linearized at the very end, where it
// changes nothing anybody saw, so it is left out. Pending gets say nothing and are dropped
// before the fast path sees them.

// never is the response time of a pending operation: after everything.
const never = 2 * timeLimit

// noNode marks an unset link; node 0 is the initial state and node i+1 the state written by
// operation i.
const noNode = -1

// fastOutcome is the fast path's answer for one key: Linearizable, NotLinearizable with an
// explanation, or Unknown with the reason it gave up.
type fastOutcome struct {
	verdict Verdict
	lines   []string
}

func giveUp(format string, args ...any) *fastOutcome {
	return &fastOutcome{verdict: Unknown, lines: []string{fmt.Sprintf(format, args...)}}
}

// fastChecker holds one key's operations and the structure the reads reveal.
type fastChecker struct {
	ops   []Operation
	resp  []int64
	d     describer
	bases map[string]int // value of a put or a cas that may have swapped -> operation
	apps  map[string]int // appended value -> operation
	// distinct lengths of base and appended values, for the decomposition
	baseLens, appLens []int
	parent, child     []int   // per node
	reads             [][]int // per node: operations that read its state
	used              []bool  // per operation: its write is part of an observed state
	included          []bool  // per operation: part of the witness
	failedCAS         []int
	dec               decomposer
}

// decomposition results besides a node number
const (
	parseImpossible = -2
	parseAmbiguous  = -3
)

func newFastChecker(ops []Operation, d describer) (*fastChecker, *fastOutcome) {
	n := len(ops)
	f := &fastChecker{
		ops: ops, resp: make([]int64, n), d: d,
		bases: make(map[string]int), apps: make(map[string]int),
		parent: make([]int, n+1), child: make([]int, n+1), reads: make([][]int, n+1),
		used: make([]bool, n), included: make([]bool, n),
	}
	for i := range f.parent {
		f.parent[i], f.child[i] = noNode, noNode
	}
	seen := make(map[string]int)
	for i, o := range ops {
		f.resp[i] = o.Response
		if o.Pending {
			f.resp[i] = never
		}
		if !f.mayWrite(i) {
			continue
		}
		v := o.Input.Value
		if v == "" {
			return nil, giveUp("%s writes the empty value, which is also the initial one", d.op(o))
		}
		if j, dup := seen[v]; dup {
			return nil, giveUp("%s and %s write the same value", d.op(ops[j]), d.op(o))
		}
		seen[v] = i
		if o.Input.Op == OpAppend {
			f.apps[v] = i
		} else {
			f.bases[v] = i
		}
	}
	f.baseLens, f.appLens = distinctLens(f.bases), distinctLens(f.apps)
	f.dec.reset(f.baseLens)
	return f, nil
}

// mayWrite reports whether operation i may have changed the key: a cas that answered
// swapped=false did not.
func (f *fastChecker) mayWrite(i int) bool {
	o := f.ops[i]
	return o.Input.Op.writes() && !(o.Input.Op == OpCAS && !o.Pending && !o.Output.Swapped)
}

func distinctLens(m map[string]int) []int {
	set := make(map[int]bool)
	for v := range m {
		set[len(v)] = true
	}
	lens := make([]int, 0, len(set))
	for l := range set {
		lens = append(lens, l)
	}
	sort.Ints(lens)
	return lens
}

// link records that the write of node b was applied to the state of node a. Each state
// occurs once in any linearization (all values are unique), so it has one successor, and
// each write is applied once, so it has one predecessor.
func (f *fastChecker) link(a, b int) *fastOutcome {
	if f.parent[b] == noNode && f.child[a] == noNode {
		f.parent[b], f.child[a] = a, b
		return nil
	}
	if f.parent[b] == a && f.child[a] == b {
		return nil
	}
	if f.parent[b] != noNode && f.parent[b] != a {
		return f.proof("%s was applied to two different values, %s and %s",
			f.d.op(f.ops[b-1]), f.d.value(f.nodeValue(f.parent[b])), f.d.value(f.nodeValue(a)))
	}
	other := f.child[a]
	return f.proof("%s and %s were both applied to the value %s, which the key holds only once",
		f.d.op(f.ops[other-1]), f.d.op(f.ops[b-1]), f.d.value(f.nodeValue(a)))
}

func (f *fastChecker) proof(format string, args ...any) *fastOutcome {
	return &fastOutcome{verdict: NotLinearizable, lines: []string{fmt.Sprintf(format, args...)}}
}

// nodeValue rebuilds the state of a node from its chain, for explanations.
func (f *fastChecker) nodeValue(node int) string {
	var parts []string
	for ; node > 0; node = f.parent[node] {
		o := f.ops[node-1]
		parts = append(parts, o.Input.Value)
		if o.Input.Op != OpAppend {
			break // a put or a cas sets the whole value
		}
	}
	s := ""
	for i := len(parts) - 1; i >= 0; i-- {
		s += parts[i]
	}
	return s
}
