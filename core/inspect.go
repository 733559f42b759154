package core

import "encoding/binary"

// What the world and the checkers may read of a replica. None of it changes state.

func (r *Replica) Index() ReplicaIndex { return r.index }
func (r *Replica) Status() Status      { return r.status }
func (r *Replica) View() View          { return r.view }
func (r *Replica) LogView() View       { return r.logView }
func (r *Replica) Op() Op              { return r.journal.op }
func (r *Replica) CommitMin() Op       { return r.commitMin }
func (r *Replica) CommitMax() Op       { return r.commitMax }
func (r *Replica) Stats() ReplicaStats { return r.stats }

// RequestsExecuted counts the client requests run through the state machine; the
// checkers read it every tick, so it costs no copy of the stats.
func (r *Replica) RequestsExecuted() uint64 { return r.stats.RequestsExecuted }
func (r *Replica) IsPrimary() bool          { return r.isPrimary() }

// HoldsOnChain reports whether the replica holds the prepare with this checksum at op on
// its trusted chain: what it must hold to acknowledge it.
func (r *Replica) HoldsOnChain(op Op, checksum Checksum) bool {
	return r.journal.trusted(op) && r.journal.held(op, checksum)
}

// Digest is the state machine's digest after op CommitMin.
func (r *Replica) Digest() Checksum { return r.sm.Digest() }

// ExecutedHeader returns the header of an executed op (op ≤ CommitMin).
func (r *Replica) ExecutedHeader(op Op) PrepareHeader {
	if op > r.commitMin {
		panic("core: header of an op not executed")
	}
	return *r.journal.header(op)
}

// ExecutedPrepare returns the whole prepare of an executed op; the bytes are the replica's.
func (r *Replica) ExecutedPrepare(op Op) []byte {
	if op > r.commitMin {
		panic("core: prepare of an op not executed")
	}
	return r.journal.message(op)
}

// Healthy reports whether the replica holds its whole log: it is not recovering and every
// op up to its head is on its trusted chain and held. A replica that is not healthy may be
// the only one missing data it once had, so the simulator stops no other replica meanwhile.
func (r *Replica) Healthy() bool {
	return r.status != StatusRecovering && r.journal.complete(r.commitMin)
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
	it := newBatchIterator(prepare[HeaderSize:], w.count)
	var m Request
	for it.Next(&m) {
		f(&m)
	}
}
