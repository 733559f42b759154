package core

import "fmt"

// journal is a replica's log, held in memory until storage lands: for every op, the header
// (when known) and the whole prepare message (when held).
//
// The log is trusted from its head down: the head comes from the primary of the current view
// (a prepare, a start_view, the view change itself), and each header below it is trusted
// once the header above names it as parent. chainFrom is how far down that trust reaches:
//
//	Invariant: for every n in [chainFrom, op], headers[n] is known, and for every n in
//	(chainFrom, op], headers[n].Parent == headers[n-1].Checksum.
//
// Executed ops form one chain already (execution asserts each link), so once trust from the
// head reaches them chainFrom drops to 0: the whole log is trusted.
//
// Below chainFrom, headers may be missing or stale (left from an older view); repair
// fetches the header chainFrom−1 that headers[chainFrom].Parent names, and stale ones are
// replaced. Executed ops (up to the replica's commitMin) are canonical and never change.
type journal struct {
	chunks    [][]journalEntry // by op, journalChunk ops a chunk: growing never copies
	size      Op               // ops with room; Invariant: op < size, size = len(chunks)·journalChunk
	op        Op               // the head; Invariant: headers[op] is known
	chainFrom Op               // Invariant: floor ≤ chainFrom ≤ op
	// floor is the op of the checkpoint the state was restored from (a restart, a state
	// transfer; 0 for the root): the log begins there. Its header is known (the
	// checkpoint's), its prepare need not be held, and nothing below it is part of the log
	// (known is false below it). Entries below it keep what the disk holds until a durable
	// checkpoint covers them (compact): a header sector rewritten meanwhile must not blank
	// an op the replica may have acknowledged while its root still names an older
	// checkpoint. Invariant: floor ≤ the replica's commitMin.
	floor Op
	// compacted: entries below it are cleared, and whole chunks below it freed, so that
	// memory holds the last JournalSlots ops and what is above them, however long the run.
	// Invariant: compacted ≤ floor.
	compacted Op
	// servedFrom: the lowest op whose entry peers may be sent (repair). Below the floor,
	// entries kept from before a local checkpoint are executed ops, canonical; those kept
	// across a restart or a state transfer are not known to be, and are not served.
	servedFrom Op
	// changed lists the ops whose entry changed since the replica last wrote the journal
	// out (durability.go): duplicates allowed, drained after every event.
	changed []Op
}

// journalEntry is what the log holds at one op.
type journalEntry struct {
	header  PrepareHeader // a zero Checksum means unknown
	message []byte        // the whole prepare, nil when not held
	// What of this entry is on disk (durability.go), reset whenever the header changes:
	//	Invariant: headerDurable implies prepareDurable, and both are for header.Checksum.
	prepareDurable bool // a write of the prepare with header.Checksum completed at its slot
	headerDurable  bool // and then a write of its header sector holding that header
	// headerKept: the disk held this header at start-up over a prepare it could not read
	// back (slotDamaged). Its sector keeps it, though the prepare is not on disk: the
	// header is the proof this op may have been acknowledged, which a rewrite of the
	// sector must not erase (an erased one reads back as never acknowledged).
	headerKept bool
	// junkKept: the same proof, where the disk held junk at this op's header entry over a
	// prepare it could not read back (slotUnknown at or below the head), so no header is
	// known: its sector keeps a junk entry (junkMark) until a header arrives, which it then
	// keeps instead (headerKept). Without it the first rewrite of the sector blanked the
	// entry, and the next restart took an op it had acknowledged for never written (seed
	// 191, a cluster of two, nacked and truncated a committed op). Invariant: only with an
	// unknown header.
	junkKept bool
}

// durable reports whether the entry's prepare and header are both on disk: what an
// acknowledgement of it waits for.
func (e *journalEntry) durable() bool {
	assert(!e.headerDurable || e.prepareDurable)
	assert(!e.prepareDurable || !e.header.Checksum.IsZero())
	assert(!e.junkKept || e.header.Checksum.IsZero())
	return e.headerDurable
}

const journalChunk = 1024

func newJournal(root PrepareHeader, rootMessage []byte) *journal {
	// The root anchors every chain: op 0 of view 0, known, and linking to nothing.
	assert(root.Op == 0 && root.View == 0 && root.Parent.IsZero())
	assert(!root.Checksum.IsZero() && rootMessage != nil)
	j := &journal{}
	j.grow(0)
	*j.entry(0) = journalEntry{header: root, message: rootMessage}
	j.changed = append(j.changed, 0)
	assert(j.op == 0 && j.chainFrom == 0 && j.known(0))
	return j
}

// entry is the slot of an op the journal has room for.
func (j *journal) entry(op Op) *journalEntry {
	if op >= j.size {
		// Only a bound checked first (the head, grow) may index the journal: a prepare's op
		// comes off the wire and may be anything.
		j.beyondRoom(op)
	}
	return &j.chunks[op/journalChunk][op%journalChunk]
}

// beyondRoom panics for entry, apart from it so that entry, the journal's hottest
// function, stays small enough to inline.
//
//go:noinline
func (j *journal) beyondRoom(op Op) {
	panic(fmt.Sprintf("core: journal indexed at op %d, room for %d (head %d)", op, j.size, j.op))
}

// message returns the prepare held at op, nil if none (or if op is beyond the journal).
func (j *journal) message(op Op) []byte {
	if op >= j.size || j.cleared(op) {
		return nil
	}
	return j.entry(op).message
}

func (j *journal) known(op Op) bool {
	assert(j.op < j.size && j.floor <= j.op)
	return op <= j.op && op >= j.floor && !j.entry(op).header.Checksum.IsZero()
}

// header returns the header at op; it must be known.
func (j *journal) header(op Op) *PrepareHeader {
	if !j.known(op) {
		panic(fmt.Sprintf("core: header of op %d is not known (head %d)", op, j.op))
	}
	h := &j.entry(op).header
	if h.Op != op {
		// A header filed under another op: whatever trusts it would trust the wrong prepare.
		panic(fmt.Sprintf("core: journal slot of op %d holds the header of op %d", op, h.Op))
	}
	return h
}

// held reports whether the prepare at op is held with the given checksum.
func (j *journal) held(op Op, checksum Checksum) bool {
	return j.known(op) && j.entry(op).header.Checksum == checksum && j.entry(op).message != nil
}

// trusted reports whether op lies on the chain from the head.
func (j *journal) trusted(op Op) bool {
	assert(j.floor <= j.chainFrom && j.chainFrom <= j.op)
	return op >= j.chainFrom && op <= j.op
}

// grow makes room up to op, a chunk at a time.
func (j *journal) grow(op Op) {
	for j.size <= op {
		j.chunks = append(j.chunks, make([]journalEntry, journalChunk))
		j.size += journalChunk
	}
	assert(op < j.size)
	assert(j.size == Op(len(j.chunks))*journalChunk)
}

// set records a header at its op, with its message if held. A different header there is
// replaced, with its message.
func (j *journal) set(h *PrepareHeader, message []byte) {
	// The root is never replaced, and no header without an identity is ever recorded (a
	// zero checksum marks an unknown op).
	assert(h.Op > 0 && !h.Checksum.IsZero())
	assert(!h.Parent.IsZero() && h.Commit < h.Op)
	j.grow(h.Op)
	e := j.entry(h.Op)
	if e.header.Checksum != h.Checksum {
		// Another prepare: nothing of what the disk holds at this slot is its. Junk kept
		// there may have been this one, acknowledged: its header is kept in its place.
		kept := e.junkKept
		e.message, e.prepareDurable, e.headerDurable, e.headerKept, e.junkKept = nil, false, false, kept, false
	}
	e.header = *h
	if message != nil {
		e.message = append([]byte(nil), message...)
	}
	j.changed = append(j.changed, h.Op)
}

// truncate forgets everything above op. Executed ops must never be truncated; the caller
// asserts that.
func (j *journal) truncate(op Op) {
	assert(op <= j.op) // only ever shortens the log
	for n := op + 1; n <= j.op && n < j.size; n++ {
		*j.entry(n) = journalEntry{}
		j.changed = append(j.changed, n)
	}
	assert(op >= j.floor)
	if j.op > op {
		j.op = op
	}
	j.chainFrom = min(j.chainFrom, op)
	assert(j.op == op && j.chainFrom <= j.op)
	// Nothing is left above the head: a later head beyond a gap must not find old headers.
	assert(j.op+1 >= j.size || j.entry(j.op+1).header.Checksum.IsZero())
}

// appendHead adds the prepare of op+1 that links to the head.
func (j *journal) appendHead(h *PrepareHeader, message []byte) {
	if h.Op != j.op+1 || h.Parent != j.entry(j.op).header.Checksum {
		panic(fmt.Sprintf("core: op %d does not extend head %d", h.Op, j.op))
	}
	parent := j.entry(j.op).header
	// Along a hash chain, views never go down and time goes forward: a primary appends only
	// to a log of its view or older, with a timestamp past its head's.
	if h.View < parent.View || h.Timestamp <= parent.Timestamp {
		panic(fmt.Sprintf("core: op %d (view %d, time %d) extends op %d of view %d, time %d",
			h.Op, h.View, h.Timestamp, parent.Op, parent.View, parent.Timestamp))
	}
	j.set(h, message)
	j.op = h.Op
	assert(j.chainFrom < j.op)
}

// setHead installs an authoritative head: everything above it goes, and trust restarts
// from it.
func (j *journal) setHead(h *PrepareHeader, message []byte, commitMin Op) {
	if h.Op < commitMin {
		panic(fmt.Sprintf("core: head %d below executed op %d", h.Op, commitMin))
	}
	if h.Op == commitMin && j.entry(h.Op).header.Checksum != h.Checksum {
		// Executed ops are canonical: a head there must be the one executed.
		panic(fmt.Sprintf("core: head %v at executed op %d, executed as %v", h.Checksum, h.Op,
			j.entry(h.Op).header.Checksum))
	}
	if h.Op <= j.op {
		j.truncate(h.Op)
	}
	j.set(h, message)
	j.op, j.chainFrom = h.Op, h.Op
	j.extendChain(commitMin)
	assert(j.op == h.Op && j.entry(j.op).header.Checksum == h.Checksum)
	assert(j.op+1 >= j.size || j.entry(j.op+1).header.Checksum.IsZero())
}

// installWindow installs authoritative consecutive headers ending at the new head.
func (j *journal) installWindow(headers []PrepareHeader, commitMin Op) {
	if len(headers) == 0 {
		// The view's log is empty: only the root.
		if commitMin != 0 {
			panic(fmt.Sprintf("core: an empty log installed over executed op %d", commitMin))
		}
		j.truncate(0)
		j.chainFrom = 0
		assert(j.op == 0 && j.known(0))
		return
	}
	assert(len(headers) <= HeadersMax)
	// A window is consecutive ops, each linking to the one below (the decoder checked the
	// ones from the wire; a replica's own come from its trusted chain).
	for i := 1; i < len(headers); i++ {
		if headers[i].Op != headers[i-1].Op+1 || headers[i].Parent != headers[i-1].Checksum {
			panic(fmt.Sprintf("core: window of ops %d to %d breaks at op %d", headers[0].Op,
				headers[len(headers)-1].Op, headers[i].Op))
		}
	}
	last := &headers[len(headers)-1]
	j.setHead(last, nil, commitMin)
	for i := len(headers) - 2; i >= 0; i-- {
		h := &headers[i]
		if h.Op > commitMin {
			j.set(h, nil)
		} else if h.Op < j.floor {
			continue // below the checkpoint the state came from: not the log's any more
		} else if j.entry(h.Op).header.Checksum != h.Checksum {
			panic(fmt.Sprintf("core: view installs op %d as %v, but it was executed as %v",
				h.Op, h.Checksum, j.entry(h.Op).header.Checksum))
		}
	}
	j.chainFrom = max(headers[0].Op, commitMin)
	j.extendChain(commitMin)
	// The whole window is in place and trusted, and nothing is above it.
	assert(j.op == last.Op && j.chainFrom <= max(headers[0].Op, commitMin))
	for i := range headers {
		assert(headers[i].Op < j.floor || j.entry(headers[i].Op).header.Checksum == headers[i].Checksum)
	}
	assert(j.op+1 >= j.size || j.entry(j.op+1).header.Checksum.IsZero())
}

// extendChain walks trust down while the header below links to the chain. A header below
// that does not link is stale: it is forgotten, to be repaired.
func (j *journal) extendChain(commitMin Op) {
	assert(j.chainFrom <= j.op && j.known(j.chainFrom))
	for j.chainFrom > commitMin {
		below := j.chainFrom - 1
		parent := j.entry(j.chainFrom).header.Parent
		e := j.entry(below)
		if e.header.Checksum.IsZero() {
			return
		}
		if e.header.Checksum != parent {
			if below <= commitMin {
				panic(fmt.Sprintf("core: executed op %d has checksum %v but op %d names %v as parent",
					below, e.header.Checksum, j.chainFrom, parent))
			}
			*e = journalEntry{}
			j.changed = append(j.changed, below)
			return
		}
		j.chainFrom = below
	}
	j.chainFrom = j.floor // trust reached the executed ops, which are one chain
	assert(j.known(j.floor))
}

// wanted returns the header repair needs next: the one below the chain, if the chain does
// not yet reach the executed ops.
func (j *journal) wanted(commitMin Op) (Op, Checksum, bool) {
	if j.chainFrom <= commitMin+1 && j.chainFrom <= j.op {
		return 0, Checksum{}, false
	}
	// Trust stops above the executed ops, at a known header whose parent is not known.
	assert(j.chainFrom > commitMin+1 && j.known(j.chainFrom))
	parent := j.entry(j.chainFrom).header.Parent
	assert(!parent.IsZero() && !j.known(j.chainFrom-1))
	return j.chainFrom - 1, parent, true
}

// acceptHeader takes a header from anyone if it is the one the chain names below itself,
// or one already trusted. It reports whether the journal changed.
func (j *journal) acceptHeader(h *PrepareHeader, commitMin Op) bool {
	op, checksum, ok := j.wanted(commitMin)
	if !ok || h.Op != op || h.Checksum != checksum {
		return false
	}
	assert(op > commitMin && op < j.op)
	j.set(h, nil)
	j.chainFrom = op
	j.extendChain(commitMin)
	assert(j.trusted(op) && j.entry(op).header.Checksum == h.Checksum)
	return true
}

// acceptPrepare takes a prepare from anyone if its header is trusted (or the one the chain
// wants) and its message not yet held. It reports whether the journal changed.
func (j *journal) acceptPrepare(h *PrepareHeader, message []byte, commitMin Op) bool {
	if h.Op > j.op {
		return false // beyond the head: only the primary of the view extends the log
	}
	if h.Op <= j.floor {
		return false // executed: the checkpoint the log begins at holds it
	}
	assert(h.Op > 0 && message != nil)
	if e := j.entry(h.Op); j.trusted(h.Op) && e.header.Checksum == h.Checksum {
		if e.message != nil {
			return false
		}
		e.message = append([]byte(nil), message...)
		j.changed = append(j.changed, h.Op)
		return true
	}
	if !j.acceptHeader(h, commitMin) {
		return false
	}
	j.entry(h.Op).message = append([]byte(nil), message...)
	j.changed = append(j.changed, h.Op)
	assert(j.trusted(h.Op) && j.held(h.Op, h.Checksum))
	return true
}

// setFloor makes the op of h, a checkpoint's, the floor of the log: the state is restored
// from the checkpoint, and every op up to it counts as executed. The header replaces what
// the log held there (the checkpoint's op is committed: a different header there was an
// older view's). Ops above it stay, trusted from the head down to it. commitMin is the
// replica's executed op before the restore.
func (j *journal) setFloor(h *PrepareHeader, commitMin Op) {
	assert(h.Op > j.floor && h.Op > commitMin && !h.Checksum.IsZero())
	if j.trusted(h.Op) && j.known(h.Op) && j.entry(h.Op).header.Checksum != h.Checksum {
		// The chain from the head is the view's log, and the checkpoint's op is committed:
		// they cannot disagree.
		panic(fmt.Sprintf("core: checkpoint of op %d is %v, the trusted log holds %v", h.Op, h.Checksum,
			j.entry(h.Op).header.Checksum))
	}
	j.grow(h.Op)
	if j.op < h.Op {
		// The log ends below the checkpoint: the checkpoint's op is the log's head now
		// (committed, so in every later view's log). Nothing is above the head to clear.
		j.op = h.Op
	}
	if e := j.entry(h.Op); e.header.Checksum != h.Checksum {
		j.set(h, nil)
	}
	j.floor = h.Op
	j.servedFrom = h.Op + 1
	j.chainFrom = max(j.chainFrom, h.Op)
	j.extendChain(h.Op)
	assert(j.known(j.floor) && j.floor <= j.chainFrom && j.chainFrom <= j.op)
}

// raiseFloor moves the floor up to op, a checkpoint of this replica's own state made
// durable: ops up to it need never be executed again, nor linked below. Their entries stay
// until the ring passes them (compact), to serve peers that lag.
func (j *journal) raiseFloor(op, commitMin Op) {
	assert(op > j.floor && op <= commitMin && j.known(op))
	j.floor = op
	j.chainFrom = max(j.chainFrom, op)
	assert(j.floor <= j.chainFrom && j.chainFrom <= j.op)
}

// compact clears the entries below op (at or below the durable checkpoint, so at or below
// the floor): nothing of them is needed again, on disk or in memory. Chunks wholly below it
// are freed.
func (j *journal) compact(op Op) {
	assert(op <= j.floor)
	if op <= j.compacted {
		return
	}
	for n := j.compacted; n < op && n < j.size; n++ {
		if j.chunks[n/journalChunk] != nil {
			*j.entry(n) = journalEntry{}
		}
	}
	for c := j.compacted / journalChunk; c < op/journalChunk; c++ {
		j.chunks[c] = nil
	}
	j.compacted = op
	j.servedFrom = max(j.servedFrom, op)
	assert(j.compacted <= j.floor && j.known(j.floor))
}

// cleared reports whether op's entry was compacted away (its chunk may be freed).
func (j *journal) cleared(op Op) bool { return op < j.compacted }

// servable reports whether the prepare with this checksum at op may be sent to a peer that
// repairs: held on the log, or kept below the floor from before a local checkpoint.
func (j *journal) servable(op Op, checksum Checksum) bool {
	if op >= j.floor {
		return j.held(op, checksum)
	}
	if op < j.servedFrom || op < j.compacted || op == 0 {
		return false
	}
	e := j.entry(op)
	return e.header.Op == op && e.header.Checksum == checksum && e.message != nil
}

// servableHeader returns the header at op a peer may be sent, if any (servable's rule).
func (j *journal) servableHeader(op Op) (*PrepareHeader, bool) {
	if op >= j.floor {
		if !j.known(op) {
			return nil, false
		}
		return j.header(op), true
	}
	if op < j.servedFrom || op < j.compacted || op == 0 {
		return nil, false
	}
	if e := j.entry(op); e.header.Op == op && !e.header.Checksum.IsZero() {
		return &e.header, true
	}
	return nil, false
}

// oldest is the lowest op whose prepare the replica may hold to serve: what its pings say.
func (j *journal) oldest() Op { return max(j.servedFrom, j.compacted, 1) }

// complete reports whether every op in (commitMin, op] is trusted and held: the replica
// holds its whole log.
func (j *journal) complete(commitMin Op) bool {
	assert(j.chainFrom <= j.op && j.known(j.op))
	if j.op <= commitMin {
		return true
	}
	if j.chainFrom > commitMin+1 {
		return false
	}
	for n := commitMin + 1; n <= j.op; n++ {
		if j.entry(n).message == nil {
			return false
		}
	}
	return true
}
