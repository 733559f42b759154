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
	size      Op               // ops with room: op < size
	op        Op               // the head
	chainFrom Op
}

// journalEntry is what the log holds at one op.
type journalEntry struct {
	header  PrepareHeader // a zero Checksum means unknown
	message []byte        // the whole prepare, nil when not held
}

const journalChunk = 1024

func newJournal(root PrepareHeader, rootMessage []byte) *journal {
	j := &journal{}
	j.grow(0)
	*j.entry(0) = journalEntry{header: root, message: rootMessage}
	return j
}

// entry is the slot of an op the journal has room for.
func (j *journal) entry(op Op) *journalEntry {
	return &j.chunks[op/journalChunk][op%journalChunk]
}

// message returns the prepare held at op, nil if none (or if op is beyond the journal).
func (j *journal) message(op Op) []byte {
	if op >= j.size {
		return nil
	}
	return j.entry(op).message
}

func (j *journal) known(op Op) bool {
	return op <= j.op && !j.entry(op).header.Checksum.IsZero()
}

// header returns the header at op; it must be known.
func (j *journal) header(op Op) *PrepareHeader {
	if !j.known(op) {
		panic(fmt.Sprintf("core: header of op %d is not known (head %d)", op, j.op))
	}
	return &j.entry(op).header
}

// held reports whether the prepare at op is held with the given checksum.
func (j *journal) held(op Op, checksum Checksum) bool {
	return j.known(op) && j.entry(op).header.Checksum == checksum && j.entry(op).message != nil
}

// trusted reports whether op lies on the chain from the head.
func (j *journal) trusted(op Op) bool { return op >= j.chainFrom && op <= j.op }

// grow makes room up to op, a chunk at a time.
func (j *journal) grow(op Op) {
	for j.size <= op {
		j.chunks = append(j.chunks, make([]journalEntry, journalChunk))
		j.size += journalChunk
	}
}

// set records a header at its op, with its message if held. A different header there is
// replaced, with its message.
func (j *journal) set(h *PrepareHeader, message []byte) {
	j.grow(h.Op)
	e := j.entry(h.Op)
	if e.header.Checksum != h.Checksum {
		e.message = nil
	}
	e.header = *h
	if message != nil {
		e.message = append([]byte(nil), message...)
	}
}

// truncate forgets everything above op. Executed ops must never be truncated; the caller
// asserts that.
func (j *journal) truncate(op Op) {
	for n := op + 1; n <= j.op && n < j.size; n++ {
		*j.entry(n) = journalEntry{}
	}
	if j.op > op {
		j.op = op
	}
	j.chainFrom = min(j.chainFrom, op)
}

// appendHead adds the prepare of op+1 that links to the head.
func (j *journal) appendHead(h *PrepareHeader, message []byte) {
	if h.Op != j.op+1 || h.Parent != j.entry(j.op).header.Checksum {
		panic(fmt.Sprintf("core: op %d does not extend head %d", h.Op, j.op))
	}
	j.set(h, message)
	j.op = h.Op
}

// setHead installs an authoritative head: everything above it goes, and trust restarts
// from it.
func (j *journal) setHead(h *PrepareHeader, message []byte, commitMin Op) {
	if h.Op < commitMin {
		panic(fmt.Sprintf("core: head %d below executed op %d", h.Op, commitMin))
	}
	if h.Op <= j.op {
		j.truncate(h.Op)
	}
	j.set(h, message)
	j.op, j.chainFrom = h.Op, h.Op
	j.extendChain(commitMin)
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
		return
	}
	last := &headers[len(headers)-1]
	j.setHead(last, nil, commitMin)
	for i := len(headers) - 2; i >= 0; i-- {
		h := &headers[i]
		if h.Op > commitMin {
			j.set(h, nil)
		} else if j.entry(h.Op).header.Checksum != h.Checksum {
			panic(fmt.Sprintf("core: view installs op %d as %v, but it was executed as %v",
				h.Op, h.Checksum, j.entry(h.Op).header.Checksum))
		}
	}
	j.chainFrom = max(headers[0].Op, commitMin)
	j.extendChain(commitMin)
}

// extendChain walks trust down while the header below links to the chain. A header below
// that does not link is stale: it is forgotten, to be repaired.
func (j *journal) extendChain(commitMin Op) {
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
			return
		}
		j.chainFrom = below
	}
	j.chainFrom = 0 // trust reached the executed ops, which are one chain
}

// wanted returns the header repair needs next: the one below the chain, if the chain does
// not yet reach the executed ops.
func (j *journal) wanted(commitMin Op) (Op, Checksum, bool) {
	if j.chainFrom <= commitMin+1 && j.chainFrom <= j.op {
		return 0, Checksum{}, false
	}
	return j.chainFrom - 1, j.entry(j.chainFrom).header.Parent, true
}

// acceptHeader takes a header from anyone if it is the one the chain names below itself,
// or one already trusted. It reports whether the journal changed.
func (j *journal) acceptHeader(h *PrepareHeader, commitMin Op) bool {
	op, checksum, ok := j.wanted(commitMin)
	if !ok || h.Op != op || h.Checksum != checksum {
		return false
	}
	j.set(h, nil)
	j.chainFrom = op
	j.extendChain(commitMin)
	return true
}

// acceptPrepare takes a prepare from anyone if its header is trusted (or the one the chain
// wants) and its message not yet held. It reports whether the journal changed.
func (j *journal) acceptPrepare(h *PrepareHeader, message []byte, commitMin Op) bool {
	if h.Op > j.op {
		return false // beyond the head: only the primary of the view extends the log
	}
	if e := j.entry(h.Op); j.trusted(h.Op) && e.header.Checksum == h.Checksum {
		if e.message != nil {
			return false
		}
		e.message = append([]byte(nil), message...)
		return true
	}
	if !j.acceptHeader(h, commitMin) {
		return false
	}
	j.entry(h.Op).message = append([]byte(nil), message...)
	return true
}

// complete reports whether every op in (commitMin, op] is trusted and held: the replica
// holds its whole log.
func (j *journal) complete(commitMin Op) bool {
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
