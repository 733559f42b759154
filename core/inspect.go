package core

import "encoding/binary"

// What the world and the checkers may read of a replica. None of it changes state.

// Each asserts what a reader relies on of the value it gets.

func (r *Replica) Index() ReplicaIndex {
	assert(int(r.index) < r.config.Replicas)
	return r.index
}

func (r *Replica) Status() Status { return r.status }
func (r *Replica) View() View     { return r.view }
func (r *Replica) LogView() View  { return r.logView }

// DurableLogView is the log view its disk holds: the last view in which it was normal and
// could acknowledge (a replica acknowledges only once its root says normal in the view).
func (r *Replica) DurableLogView() View {
	assert(r.root.LogView <= r.root.View)
	return r.root.LogView
}
func (r *Replica) Op() Op { return r.journal.op }

// CommitMin is the op executed last: every op up to it ran once, in order.
func (r *Replica) CommitMin() Op {
	assert(r.stats.Committed == uint64(r.commitMin-r.restoredAt))
	return r.commitMin
}

func (r *Replica) CommitMax() Op { return r.commitMax }

func (r *Replica) Stats() ReplicaStats {
	// Ops are executed one at a time from the state restored (the root's, a checkpoint's).
	assert(r.stats.Committed == uint64(r.commitMin-r.restoredAt))
	assert(r.stats.Recoveries <= 1) // a replica recovers once, from the state it lost
	// A replica starts a view as its primary once, and one view in Replicas is its.
	assert(r.stats.ViewsStarted <= uint64(r.view)/uint64(r.config.Replicas)+1)
	return r.stats
}

// RequestsExecuted counts the client requests run through the state machine; the
// checkers read it every tick, so it costs no copy of the stats.
func (r *Replica) RequestsExecuted() uint64 {
	// Requests run in ops, at most a batch each, each op once.
	assert(r.stats.RequestsExecuted <= uint64(r.config.BatchMax)*uint64(r.commitMin-r.restoredAt))
	return r.stats.RequestsExecuted
}

func (r *Replica) IsPrimary() bool { return r.isPrimary() }

// DurablyHeld reports whether the prepare of op with that checksum is on disk, prepare and
// header both read back, and the disk says the replica is normal in its view: what a
// prepare_ok must wait for.
func (r *Replica) DurablyHeld(op Op, checksum Checksum) bool {
	assert(!checksum.IsZero())
	if op == 0 || op > r.journal.op || !r.journal.known(op) {
		return false
	}
	e := r.journal.entry(op)
	assert(!e.headerDurable || e.prepareDurable)
	return e.header.Checksum == checksum && e.durable() && r.rootNormal()
}

// HoldsOnChain reports whether the replica holds the prepare with this checksum at op on
// its trusted chain: what it must hold to acknowledge it.
func (r *Replica) HoldsOnChain(op Op, checksum Checksum) bool {
	holds := r.journal.trusted(op) && r.journal.held(op, checksum)
	if holds {
		// The bytes held prove themselves: the prepare of that op, with that checksum (a
		// slot holding another op's prepare would pass a checksum check alone).
		message := r.journal.message(op)
		assert(getChecksum(message) == checksum)
		assert(checksumOf(message[16:HeaderSize]) == checksum)
		assert(Op(binary.LittleEndian.Uint64(message[72:])) == op)
	}
	return holds
}

// HoldsDurably reports whether the replica holds the prepare with this checksum at op on
// its trusted chain and its copy is on disk (prepare and header): what a primary's own
// acknowledgement waits for. A primary's prepare counts towards a quorum only then: one that
// crashes before its write completes restarts without it.
func (r *Replica) HoldsDurably(op Op, checksum Checksum) bool {
	if r.status == StatusOpening || !r.HoldsOnChain(op, checksum) {
		return false
	}
	e := r.journal.entry(op)
	assert(e.header.Checksum == checksum && e.message != nil)
	return e.durable()
}

// Digest is the state machine's digest after op CommitMin.
func (r *Replica) Digest() Checksum { return r.sm.Digest() }

// ExecutedHeader returns the header of an executed op (op ≤ CommitMin).
func (r *Replica) ExecutedHeader(op Op) PrepareHeader {
	if op > r.commitMin {
		panic("core: header of an op not executed")
	}
	h := r.journal.header(op)
	// The slot holds its own op, and executed ops form one chain from the root (from the
	// checkpoint the state came from).
	assert(h.Op == op)
	if op > r.journal.floor {
		assert(h.Parent == r.journal.header(op-1).Checksum)
	}
	return *h
}

// ExecutedPrepare returns the whole prepare of an executed op; the bytes are the replica's.
func (r *Replica) ExecutedPrepare(op Op) []byte {
	if op > r.commitMin {
		panic("core: prepare of an op not executed")
	}
	// An executed prepare stays held, whole, and is the one its header names: it proves
	// itself to its reader, header and body, as it did to the replica that took it in.
	message, h := r.journal.message(op), r.journal.header(op)
	assert(len(message) == int(h.Size))
	assert(getChecksum(message) == h.Checksum)
	assert(checksumOf(message[16:HeaderSize]) == h.Checksum)
	assert(checksumOf(message[HeaderSize:]) == h.ChecksumBody)
	assert(Op(binary.LittleEndian.Uint64(message[72:])) == op)
	return message
}

// PrepareAt reports the prepare this replica holds at op, if it holds one: its checksum,
// and whether it is on the replica's disk. For the simulator's liveness excuse.
func (r *Replica) PrepareAt(op Op) (checksum Checksum, held, onDisk bool) {
	if op == 0 || op > r.journal.op || !r.journal.known(op) || r.journal.message(op) == nil {
		return Checksum{}, false, false
	}
	e := r.journal.entry(op)
	assert(!e.header.Checksum.IsZero() && (!e.prepareDurable || e.message != nil))
	return e.header.Checksum, true, e.prepareDurable
}

// Promised reports whether this replica has ever had a durable root: from then on its disk
// holds promises (the view it joined, what it acknowledged) that a start on a blank disk
// would forget, so such a start must recover from its peers. Before it, the replica
// acknowledged nothing and voted nothing, and a driver may start it fresh again
// (OpenReplica's fresh) whatever its disk holds.
func (r *Replica) Promised() bool {
	assert(r.root.LogView <= r.root.View)
	return r.root.Sequence > 0
}

// Healthy reports whether the replica holds its whole log: it is not recovering and every
// op up to its head is on its trusted chain and held. A replica that is not healthy may be
// the only one missing data it once had, so the simulator stops no other replica meanwhile.
func (r *Replica) Healthy() bool {
	healthy := r.status != StatusRecovering && r.status != StatusOpening && !r.stateMissing &&
		r.journal.complete(r.commitMin)
	// Its head, above all (unless the head is the checkpoint its state came from).
	assert(!healthy || r.journal.message(r.journal.op) != nil || r.journal.op == r.journal.floor)
	return healthy
}

// DecodeBatch calls f for every request of a prepare's batch (an executed prepare).
func DecodeBatch(prepare []byte, f func(m *Request)) {
	var w wire
	if len(prepare) < HeaderSize {
		panic("core: not a prepare")
	}
	cluster := binary.LittleEndian.Uint64(prepare[48:])
	if err := w.parse(prepare[:HeaderSize], cluster); err != nil || w.command != CommandPrepare {
		panic("core: not a prepare")
	}
	// A whole prepare, as the journal keeps it: the header sizes the message, and only the
	// root has no requests.
	assert(int(w.size) == len(prepare))
	assert(w.verifyBody(prepare[HeaderSize:]) == nil)
	assert((w.op == 0) == (w.count == 0))
	it := newBatchIterator(prepare[HeaderSize:], w.count)
	var m Request
	count := uint32(0)
	for it.Next(&m) {
		f(&m)
		count++
	}
	assert(count == w.count) // every request the header counts, and no other
}
