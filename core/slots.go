package core

import (
	"encoding/binary"
	"fmt"
)

// The recovery decision table: what one journal slot, read back at start-up, means.
//
// Every op n has two places on disk: its header, in entry s of ZoneHeaders (sector
// s/headersPerSector), and its prepare, in slot s of ZonePrepares, where s = n mod
// JournalSlots (the ring, storage.go). A restart reads each slot for the op of the ring's
// window above its root's checkpoint (ringOp); what an earlier lap left there reads as
// blank (earlierLap). The write path writes the prepare
// first, reads it back, writes its header only once the prepare read back intact, reads
// that back too, and acknowledges the op only then (durability.go). So a header that is
// blank proves the op was never acknowledged from this disk, whatever the prepare slot
// holds; a prepare slot that is blank proves its header was never written, whatever the
// header entry now holds; and a header that is there proves the op may have been
// acknowledged, whatever happened to the prepare since. Protocol-Aware Recovery's rule follows:
// only what was provably never acknowledged may be treated as absent (nacked in a view
// change, truncated); anything else that is damaged is kept as a known gap and repaired
// from the other replicas, and the replica neither acks nor nacks it meanwhile.
//
// What each place can hold, read back:
//
//	header entry: blank (all zero); valid (a prepare's header, for op n); other (a valid
//	              prepare header of another op: a sector written to the wrong place, or
//	              read from it); corrupt (anything else, or the sector could not be read)
//	prepare slot: blank; valid (a whole prepare that verifies, for op n); other (a valid
//	              prepare of another op); corrupt (anything else: rot, a torn write, a
//	              latent sector error)
//
// and decideSlot maps each pair to one slotDecision. Each row has a test (slots_test.go).

// slotHeader is what the header entry of an op holds.
type slotHeader uint8

const (
	slotHeaderBlank slotHeader = iota + 1
	slotHeaderValid
	slotHeaderOther
	slotHeaderCorrupt
)

// slotPrepare is what the prepare slot of an op holds.
type slotPrepare uint8

const (
	slotPrepareBlank slotPrepare = iota + 1
	slotPrepareValid
	slotPrepareOther
	slotPrepareCorrupt
)

// slotDecision is what the replica makes of a slot.
type slotDecision uint8

const (
	// slotEmpty: nothing was ever acknowledged here from this disk. The op is absent
	// from the log; a view change may count this replica as never having held it.
	slotEmpty slotDecision = iota + 1
	// slotIntact: header and prepare agree. The op is held.
	slotIntact
	// slotPrepareOnly: the prepare verifies on its own, and the header entry does not
	// name it (a crash between the two writes, or a header lost to a fault). The op is
	// held; its header is written again before it is acknowledged.
	slotPrepareOnly
	// slotDamaged: the header names a prepare that the slot does not hold intact. The op is
	// known by its checksum and repaired from a peer; never acknowledged nor nacked until
	// then.
	slotDamaged
	// slotUnknown: something was written here and nothing on this disk says what. The op
	// is a gap repaired from a peer by its number; never acknowledged nor nacked until
	// then.
	slotUnknown
)

func (d slotDecision) String() string {
	switch d {
	case slotEmpty:
		return "empty"
	case slotIntact:
		return "intact"
	case slotPrepareOnly:
		return "prepare-only"
	case slotDamaged:
		return "damaged"
	case slotUnknown:
		return "unknown"
	}
	return fmt.Sprintf("slotDecision(%d)", uint8(d))
}

// slotRead is one slot as read back: what each place holds, and the headers of the valid
// ones.
type slotRead struct {
	op      Op
	header  slotHeader
	prepare slotPrepare
	fromHeader,
	fromPrepare PrepareHeader // the header entry's and the prepare's, when valid
}

// decideSlot is the decision table. It returns the decision and the header the log takes
// for the op: the prepare's when the prepare is held, the header entry's when only it is
// known, none (zero) otherwise.
func decideSlot(s *slotRead) (slotDecision, PrepareHeader) {
	assert(s.op > 0) // op 0 is the root prepare, never on disk
	assert(s.header >= slotHeaderBlank && s.header <= slotHeaderCorrupt)
	assert(s.prepare >= slotPrepareBlank && s.prepare <= slotPrepareCorrupt)
	assert(s.header != slotHeaderValid || (s.fromHeader.Op == s.op && !s.fromHeader.Checksum.IsZero()))
	assert(s.prepare != slotPrepareValid || (s.fromPrepare.Op == s.op && !s.fromPrepare.Checksum.IsZero()))
	switch s.header {
	case slotHeaderBlank:
		// Never acknowledged from this disk: a prepare that verifies is kept (it may be
		// acknowledged once its header is written), anything else is nothing.
		if s.prepare == slotPrepareValid {
			return slotPrepareOnly, s.fromPrepare
		}
		// A blank slot; a prepare torn by a crash before its header was written; another
		// op's prepare misdirected here.
		return slotEmpty, PrepareHeader{}
	case slotHeaderValid:
		if s.prepare == slotPrepareValid {
			h, p := &s.fromHeader, &s.fromPrepare
			switch {
			case h.Checksum == p.Checksum:
				return slotIntact, *p
			case p.View > h.View:
				// A newer prepare replaced the op, and the crash came before its header.
				return slotPrepareOnly, *p
			case p.View < h.View:
				// The header is of a newer prepare whose slot does not hold it: the
				// prepare's write was lost (misdirected), or the slot was overwritten.
				return slotDamaged, *h
			}
			// One view prepares one op once: two prepares of one op in one view is a
			// primary's bug, or two faults that each verify. Trust neither.
			return slotUnknown, PrepareHeader{}
		}
		// The prepare is blank, another op's, or corrupt: the header says what to repair.
		return slotDamaged, s.fromHeader
	case slotHeaderOther, slotHeaderCorrupt:
		// The header entry says nothing about this op. A prepare that verifies is the op;
		// a blank slot proves no header was written for it (a prepare is read back intact
		// before its header is written), so it was never acknowledged; otherwise the op
		// is a gap.
		switch s.prepare {
		case slotPrepareValid:
			return slotPrepareOnly, s.fromPrepare
		case slotPrepareBlank:
			return slotEmpty, PrepareHeader{}
		}
		return slotUnknown, PrepareHeader{}
	}
	panic(fmt.Sprintf("core: slot of op %d: header %d, prepare %d", s.op, s.header, s.prepare))
}

// earlierLap reports whether other, found where op belongs, is an op of the same ring slot
// below op: what the slot held before the ring came round to op. The write path never
// writes an op's slot until the durable checkpoint covers the op of the lap before, and
// both places of op are written in this lap before it is acknowledged: so an earlier lap's
// header or prepare there proves op was never written in this lap, as a blank does.
func earlierLap(other, op Op, ring uint64) bool {
	assert(op > 0 && ring > 0)
	return other < op && uint64(other)%ring == uint64(op)%ring
}

// readSlotHeader classifies the header entry of op, HeaderSize bytes of a header sector
// (nil when the sector could not be read), in a ring of ring slots.
func readSlotHeader(b []byte, cluster uint64, op Op, ring uint64) (slotHeader, PrepareHeader) {
	assert(op > 0)
	if b == nil {
		return slotHeaderCorrupt, PrepareHeader{}
	}
	assert(len(b) == HeaderSize)
	if allZero(b) {
		return slotHeaderBlank, PrepareHeader{}
	}
	if of, ok := readEmptyEntry(b, cluster); ok {
		if of == op || earlierLap(of, op, ring) {
			return slotHeaderBlank, PrepareHeader{}
		}
		return slotHeaderCorrupt, PrepareHeader{} // another place's: proof of nothing here
	}
	var w wire
	if w.parse(b, cluster) != nil || w.command != CommandPrepare || w.size < HeaderSize {
		return slotHeaderCorrupt, PrepareHeader{}
	}
	var h PrepareHeader
	h.fromWire(&w)
	if h.Op == 0 || h.Checksum.IsZero() {
		return slotHeaderCorrupt, PrepareHeader{}
	}
	if earlierLap(h.Op, op, ring) {
		return slotHeaderBlank, PrepareHeader{}
	}
	if h.Op != op {
		return slotHeaderOther, h
	}
	return slotHeaderValid, h
}

// An empty entry is what a header sector holds for an op without a header there. Not
// zeros: zeros read back as never written, the proof that an op was never acknowledged,
// and a sector written to the wrong place (a misdirected write) with zeros in it forged
// that proof for the acknowledged ops it landed on (seed 1663, whole-cluster crashes on,
// nacked and truncated committed ops so). An empty entry names its op and cluster, so one
// that lands elsewhere reads as another place's: no proof of anything. It has no checksum:
// what it says is its whole content, and a fault that changes it (rot of the magic, the
// cluster or the op, junk in the zeros) makes it another place's or no entry at all, never
// this op's. (A checksum cost a restart one hash per empty entry of every sector written.)
// Only a sector never written holds zeros.
const (
	emptyEntryMagic = 0x7972746e45797445 // "EtyEntry"
	emptyMagicAt    = 0
	emptyClusterAt  = 8
	emptyOpAt       = 16
	emptyEnd        = 24
)

// writeEmptyEntry lays out the empty entry of op in b, one entry.
func writeEmptyEntry(b []byte, cluster uint64, op Op) {
	assert(len(b) == HeaderSize)
	clear(b)
	le := binary.LittleEndian
	le.PutUint64(b[emptyMagicAt:], emptyEntryMagic)
	le.PutUint64(b[emptyClusterAt:], cluster)
	le.PutUint64(b[emptyOpAt:], uint64(op))
	assert(!allZero(b))
}

// readEmptyEntry reports whether b is an empty entry of this cluster, and for which op.
func readEmptyEntry(b []byte, cluster uint64) (Op, bool) {
	assert(len(b) == HeaderSize)
	le := binary.LittleEndian
	if le.Uint64(b[emptyMagicAt:]) != emptyEntryMagic || le.Uint64(b[emptyClusterAt:]) != cluster ||
		!allZero(b[emptyEnd:]) {
		return 0, false
	}
	return Op(le.Uint64(b[emptyOpAt:])), true
}

// readSlotPrepare classifies what a prepare slot holds: the bytes read from its start (nil
// when the read failed), at least the size its header names for a valid prepare.
func readSlotPrepare(dec *Decoder, b []byte, op Op, ring uint64) (slotPrepare, PrepareHeader) {
	assert(op > 0 && dec != nil)
	if b == nil {
		return slotPrepareCorrupt, PrepareHeader{}
	}
	assert(len(b) >= HeaderSize && len(b)%SectorSize == 0)
	if allZero(b) {
		return slotPrepareBlank, PrepareHeader{}
	}
	var w wire
	if w.parse(b[:HeaderSize], dec.cluster) != nil || w.command != CommandPrepare ||
		int(w.size) > len(b) {
		return slotPrepareCorrupt, PrepareHeader{}
	}
	// The whole prepare, body checksum and every rule of the decoder, as if it arrived.
	command, err := dec.Decode(b[:w.size])
	if err != nil || command != CommandPrepare || dec.Prepare.Op == 0 {
		return slotPrepareCorrupt, PrepareHeader{}
	}
	h := dec.Prepare.PrepareHeader
	assert(h.Size == w.size && !h.Checksum.IsZero())
	if earlierLap(h.Op, op, ring) {
		return slotPrepareBlank, PrepareHeader{}
	}
	if h.Op != op {
		return slotPrepareOther, h
	}
	return slotPrepareValid, h
}
