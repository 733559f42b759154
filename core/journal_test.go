package core

import (
	"fmt"
	"testing"
)

// The journal tests use two chains from the same root: a (view 1) and b (view 2), which
// share ops 1 and 2 and part from op 3 on. Headers are real: sealed by the encoder, each
// naming the one below as its parent.
type jrnChains struct {
	root PrepareHeader
	a, b []PrepareHeader // indexed by op; [0] is the root
}

func jrnNewChains() jrnChains {
	root, _ := RootPrepare(codecCluster)
	a := append([]PrepareHeader{root}, codecChain(root.Checksum, 1, 8, 1)...)
	b := append([]PrepareHeader{root}, a[1:3]...)
	b = append(b, codecChain(a[2].Checksum, 3, 6, 2)...)
	return jrnChains{root: root, a: a, b: b}
}

func jrnMessage(h PrepareHeader) []byte {
	return []byte(fmt.Sprintf("prepare %d %v", h.Op, h.Checksum))
}

// jrnNew is a journal holding chain a up to op head, every prepare held.
func (c jrnChains) jrnNew(head Op) *journal {
	_, rootMessage := RootPrepare(codecCluster)
	j := newJournal(c.root, rootMessage)
	for op := Op(1); op <= head; op++ {
		j.appendHead(&c.a[op], jrnMessage(c.a[op]))
	}
	return j
}

// jrnCheck asserts the head, how far down trust reaches, and which ops have a known header
// and a held prepare (known and held list ops in [1, head]). Trust that reaches the executed
// ops (up to commitMin) may be recorded as reaching further down, since they are one chain:
// there chainFrom need only be at most the expected value.
func jrnCheck(t *testing.T, j *journal, head, chainFrom, commitMin Op, known, held []Op) {
	t.Helper()
	trustOk := j.chainFrom == chainFrom || (chainFrom <= commitMin && j.chainFrom <= chainFrom)
	if j.op != head || !trustOk {
		t.Fatalf("head %d, chain from %d; want %d, %d (executed %d)", j.op, j.chainFrom, head,
			chainFrom, commitMin)
	}
	in := func(ops []Op, op Op) bool {
		for _, x := range ops {
			if x == op {
				return true
			}
		}
		return false
	}
	for op := Op(1); op <= head+2; op++ {
		if j.known(op) != (op <= head && in(known, op)) {
			t.Fatalf("known(%d) = %v; known ops should be %v", op, j.known(op), known)
		}
		isHeld := j.message(op) != nil
		if isHeld != (op <= head && in(held, op)) {
			t.Fatalf("op %d held = %v; held ops should be %v", op, isHeld, held)
		}
	}
}

func jrnOps(from, to Op) []Op {
	var ops []Op
	for op := from; op <= to; op++ {
		ops = append(ops, op)
	}
	return ops
}

func TestJournalAppendHead(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(8)
	jrnCheck(t, j, 8, 0, 0, jrnOps(1, 8), jrnOps(1, 8))
	for op := Op(0); op <= 8; op++ {
		if *j.header(op) != c.a[op] || !j.trusted(op) {
			t.Fatalf("op %d: header %+v trusted %v", op, j.header(op), j.trusted(op))
		}
	}
	if !j.held(5, c.a[5].Checksum) || j.held(5, c.b[5].Checksum) || j.held(9, c.a[5].Checksum) {
		t.Fatalf("held answers for the wrong checksum or op")
	}
	unitMustPanic(t, "not known", func() { j.header(9) })
	unitMustPanic(t, "does not extend head 8", func() { j.appendHead(&c.a[8], nil) })
	unitMustPanic(t, "does not extend head 2", func() {
		c.jrnNew(2).appendHead(&c.b[3], nil) // op 3 of chain b does link to op 2: allowed
		c.jrnNew(2).appendHead(&c.a[4], nil) // op 4 skips op 3
	})
	unitMustPanic(t, "op 4 does not extend head 3", func() { c.jrnNew(3).appendHead(&c.b[4], nil) })
}

// TestJournalGrows appends past the initial capacity, which doubles, and checks nothing
// was lost on the way.
func TestJournalGrows(t *testing.T) {
	root, rootMessage := RootPrepare(codecCluster)
	j := newJournal(root, rootMessage)
	chain := append([]PrepareHeader{root}, codecChain(root.Checksum, 1, 300, 3)...)
	for op := Op(1); op <= 300; op++ {
		j.appendHead(&chain[op], jrnMessage(chain[op]))
	}
	for op := Op(0); op <= 300; op++ {
		if *j.header(op) != chain[op] || j.message(op) == nil {
			t.Fatalf("op %d lost after growing", op)
		}
	}
	if string(j.message(0)) != string(rootMessage) || j.size > 512+journalChunk {
		t.Fatalf("root message lost or room for %d ops, out of bounds", j.size)
	}
}

func TestJournalSetHeadTruncatesAbove(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(8)
	j.setHead(&c.b[4], jrnMessage(c.b[4]), 2)
	// Ops 5..8 are gone; op 4 is chain b's; op 3 (chain a) does not link to it and is
	// forgotten; ops 1, 2 are shared but trust stops at the gap.
	jrnCheck(t, j, 4, 4, 2, []Op{1, 2, 4}, []Op{1, 2, 4})
	if op, checksum, ok := j.wanted(2); !ok || op != 3 || checksum != c.b[3].Checksum {
		t.Fatalf("wanted = %d, %v, %v; want op 3 of chain b", op, checksum, ok)
	}
	// The same header at the head keeps its message; above it is still truncated.
	j = c.jrnNew(8)
	j.setHead(&c.a[5], nil, 0)
	jrnCheck(t, j, 5, 0, 0, jrnOps(1, 5), jrnOps(1, 5))
	// A head beyond a gap: trust starts at the head and stops at the first unknown op.
	j = c.jrnNew(2)
	j.setHead(&c.a[6], nil, 1)
	jrnCheck(t, j, 6, 6, 1, []Op{1, 2, 6}, []Op{1, 2})
	unitMustPanic(t, "head 1 below executed op 2", func() { c.jrnNew(3).setHead(&c.a[1], nil, 2) })
}

func TestJournalExtendChain(t *testing.T) {
	c := jrnNewChains()
	// A head of chain b above a log of chain a: op 3 of chain a is stale and forgotten.
	j := c.jrnNew(3)
	j.setHead(&c.b[4], nil, 0)
	jrnCheck(t, j, 4, 4, 0, []Op{1, 2, 4}, []Op{1, 2})
	// The header the chain names brings trust down through every op that links.
	if !j.acceptHeader(&c.b[3], 0) {
		t.Fatalf("the named header was refused")
	}
	jrnCheck(t, j, 4, 0, 0, jrnOps(1, 4), []Op{1, 2})
	// Trust walks down while headers link, until it reaches the executed ops.
	j = c.jrnNew(5)
	j.setHead(&c.a[7], nil, 2)
	jrnCheck(t, j, 7, 7, 2, []Op{1, 2, 3, 4, 5, 7}, jrnOps(1, 5))
	j.acceptHeader(&c.a[6], 2)
	jrnCheck(t, j, 7, 2, 2, jrnOps(1, 7), jrnOps(1, 5))
	// A stale header at an executed op is a contradiction: the journal panics.
	unitMustPanic(t, "executed op 3 has checksum", func() { c.jrnNew(3).setHead(&c.b[4], nil, 3) })
	unitMustPanic(t, "executed op 3 has checksum", func() {
		j := c.jrnNew(3)
		j.setHead(&c.b[5], nil, 3)
		j.acceptHeader(&c.b[4], 3)
	})
}

func TestJournalInstallWindow(t *testing.T) {
	c := jrnNewChains()
	// Into an empty log: the window is trusted, the ops below it are wanted.
	j := c.jrnNew(0)
	j.installWindow(c.b[4:7], 0)
	jrnCheck(t, j, 6, 4, 0, []Op{4, 5, 6}, nil)
	if op, checksum, ok := j.wanted(0); !ok || op != 3 || checksum != c.b[3].Checksum {
		t.Fatalf("wanted = %d, %v, %v", op, checksum, ok)
	}
	// Over a log of another chain, with ops 1 and 2 executed: the shared ops keep their
	// prepares, the replaced ones lose them, everything above the window goes.
	j = c.jrnNew(8)
	j.installWindow(c.b[2:6], 2)
	jrnCheck(t, j, 5, 2, 2, jrnOps(1, 5), []Op{1, 2})
	for op := Op(1); op <= 5; op++ {
		if *j.header(op) != c.b[op] {
			t.Fatalf("op %d is not chain b's after the install", op)
		}
	}
	// A window that starts below the executed ops, agreeing with them.
	j = c.jrnNew(8)
	j.installWindow(c.a[2:6], 4)
	jrnCheck(t, j, 5, 4, 4, jrnOps(1, 5), jrnOps(1, 5))
	// An empty window: the log is only the root.
	j = c.jrnNew(4)
	j.installWindow(nil, 0)
	jrnCheck(t, j, 0, 0, 0, nil, nil)
	unitMustPanic(t, "empty log installed over executed op 2", func() { c.jrnNew(4).installWindow(nil, 2) })
	unitMustPanic(t, "view installs op 3", func() { c.jrnNew(8).installWindow(c.b[2:7], 3) })
	unitMustPanic(t, "head 4 below executed op 5", func() { c.jrnNew(8).installWindow(c.a[2:5], 5) })
}

// TestJournalAcceptHeaderOnlyNamed: repair takes headers from anyone, so the journal takes
// only the one its trusted chain names below itself.
func TestJournalAcceptHeaderOnlyNamed(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(0)
	j.setHead(&c.b[6], nil, 0)
	refused := []PrepareHeader{c.b[4], c.a[5], c.b[6], c.b[3], c.root}
	for _, h := range refused {
		if j.acceptHeader(&h, 0) {
			t.Fatalf("accepted op %d (%v) while the chain names op 5 %v", h.Op, h.Checksum, c.b[5].Checksum)
		}
	}
	jrnCheck(t, j, 6, 6, 0, []Op{6}, nil)
	for op := Op(5); op >= 1; op-- {
		if j.acceptHeader(&c.a[op], 0) != (c.a[op] == c.b[op]) {
			t.Fatalf("op %d of chain a: accepted %v", op, c.a[op] == c.b[op])
		}
		if !j.acceptHeader(&c.b[op], 0) && c.a[op] != c.b[op] {
			t.Fatalf("op %d of chain b refused", op)
		}
		if j.chainFrom != op-boolOp(op == 1) {
			t.Fatalf("after op %d, chain from %d", op, j.chainFrom)
		}
	}
	if _, _, ok := j.wanted(0); ok || j.acceptHeader(&c.b[1], 0) {
		t.Fatalf("a complete chain still wants a header")
	}
}

// boolOp is 1 for true: a header at op 1 links to the root, so trust reaches op 0.
func boolOp(b bool) Op {
	if b {
		return 1
	}
	return 0
}

func TestJournalAcceptPrepare(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(0)
	j.setHead(&c.a[5], nil, 0)
	steps := []struct {
		h        PrepareHeader
		accepted bool
	}{
		{c.a[5], true},  // trusted, not held
		{c.a[5], false}, // held already
		{c.b[5], false}, // another prepare at a trusted op
		{c.a[3], false}, // not trusted, not the one the chain names
		{c.b[4], false}, // the op the chain names, the wrong checksum
		{c.a[4], true},  // the one the chain names: header and prepare
		{c.a[3], true},
		{c.a[7], false}, // above the head
	}
	for i, s := range steps {
		if got := j.acceptPrepare(&s.h, jrnMessage(s.h), 0); got != s.accepted {
			t.Fatalf("step %d, op %d: accepted %v, want %v", i, s.h.Op, got, s.accepted)
		}
	}
	jrnCheck(t, j, 5, 3, 0, []Op{3, 4, 5}, []Op{3, 4, 5})
	if string(j.message(4)) != string(jrnMessage(c.a[4])) {
		t.Fatalf("op 4 holds %q", j.message(4))
	}
}

func TestJournalWanted(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(6)
	for commitMin := Op(0); commitMin <= 6; commitMin++ {
		if op, _, ok := j.wanted(commitMin); ok {
			t.Fatalf("a whole chain wants op %d (commit %d)", op, commitMin)
		}
	}
	// A head beyond a gap: each header the chain names in turn, down to the executed ops.
	j = c.jrnNew(2)
	j.setHead(&c.a[8], nil, 2)
	for op := Op(7); op >= 3; op-- {
		got, checksum, ok := j.wanted(2)
		if !ok || got != op || checksum != c.a[op].Checksum {
			t.Fatalf("wanted(2) = %d, %v, %v; want op %d", got, checksum, ok, op)
		}
		// Were every op up to this one executed, trust would reach far enough already.
		if got, _, ok := j.wanted(op); ok {
			t.Fatalf("with op %d executed and trust from op %d, op %d is wanted", op, op+1, got)
		}
		if !j.acceptHeader(&c.a[op], 2) {
			t.Fatalf("op %d refused", op)
		}
	}
	if _, _, ok := j.wanted(2); ok || j.chainFrom > 2 {
		t.Fatalf("trust reached op %d and still wants", j.chainFrom)
	}
}

func TestJournalComplete(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(6)
	for commitMin := Op(0); commitMin <= 8; commitMin++ {
		if !j.complete(commitMin) {
			t.Fatalf("a whole held log is not complete at commit %d", commitMin)
		}
	}
	j.entry(4).message = nil
	for commitMin := Op(0); commitMin <= 6; commitMin++ {
		if j.complete(commitMin) != (commitMin >= 4) {
			t.Fatalf("with op 4 missing, complete(%d) = %v", commitMin, j.complete(commitMin))
		}
	}
	j = c.jrnNew(2)
	j.setHead(&c.a[5], jrnMessage(c.a[5]), 0)
	if j.complete(0) || j.complete(3) || !j.complete(5) {
		t.Fatalf("a chain with a gap: complete(0) %v, complete(3) %v, complete(5) %v",
			j.complete(0), j.complete(3), j.complete(5))
	}
	if !j.complete(4) {
		t.Fatalf("only op 5 is unexecuted, and it is held on the chain")
	}
}
