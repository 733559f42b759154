package core

import (
	"fmt"
)

// The write path: what a replica keeps on its Storage, and when it counts as durable.
//
// Journal: whenever an entry changes (journal.changed), the prepare it holds is written to
// its slot of ZonePrepares; once that write completes, the header sector of ZoneHeaders
// holding its header is written. A header sector holds only headers whose prepare is on
// disk, so a crash between the two writes leaves a prepare without its header, never a
// header without its prepare: recognisable at start-up. One write at a time per prepare
// slot and per header sector (the disk lands overlapping writes in completion order);
// what changes meanwhile is written when the write in flight completes.
//
// Verified header writes: a header sector's write counts only once the sector, read back,
// holds the bytes written. The decision table (slots.go) rests on "a blank header entry
// proves the op was never acknowledged from this disk", and a misdirected write completes
// as if it landed while the sector keeps its old, blank bytes: without the read-back the
// replica would acknowledge an op its disk shows as never written. On a mismatch or a read
// error the sector is written again. Prepare writes are not read back: a header whose
// prepare is damaged is slotDamaged, repaired, never nacked.
//
// Root: r.root is the state all RootCopies copies of which completed; a write of the root
// writes the copies one after the other, each after the one before completed, and a new
// write starts when the view or the log view moved past what is durable.
//
// Gating: a replica acknowledges an op (a backup's prepare_ok, the primary's own count)
// only once its entry is durable and the durable root says it is normal in this view;
// a do_view_change leaves only once the root holds its view and log view; a start_view
// only once the root holds the view as view and log view. What waits is sent from
// Completed, when the write it waited for completes (durabilityChanged).

// headersPerSector is how many journal headers a sector of ZoneHeaders holds.
const headersPerSector = SectorSize / HeaderSize

// ioInflightMax bounds the IOs a replica has in flight: a root copy, a header sector per
// sector changed and a prepare per slot changed since the last completions.
const ioInflightMax = 1 << 16

// ioKind is what an IO in flight writes.
type ioKind uint8

const (
	ioRootCopy ioKind = iota + 1
	ioPrepare
	ioHeaders
	ioHeadersVerify    // the read-back of a header sector just written
	ioOpen             // a read or root write of the opening (open.go)
	ioPrepareVerify    // the read-back of a prepare just written
	ioCheckpoint       // a chunk of a checkpoint (checkpoint.go)
	ioCheckpointVerify // its read-back
)

// ioRecord is one IO in flight and what it writes.
type ioRecord struct {
	id       IO
	kind     ioKind
	op       Op       // ioPrepare: the op; ioHeaders: the first op of the sector; ioCheckpoint: the chunk
	checksum Checksum // ioPrepare: the prepare's; ioCheckpoint: the checkpoint's
	copy     int      // ioRootCopy: which copy; ioCheckpoint: the area
	sequence uint64   // ioRootCopy: of the root state being written
	size     int      // ioPrepare, ioPrepareVerify: the bytes written, whole sectors
	// ioHeaders, ioHeadersVerify: the checksum of the header written in each slot, zero for
	// none, and of the whole sector's bytes, which the read-back must find; the sector, and
	// the op each slot was written for (the ring's window when it was issued).
	headers [headersPerSector]Checksum
	sector  Checksum
	at      uint64
	ops     [headersPerSector]Op
}

// storageState is a replica's side of its disk.
type storageState struct {
	storage Storage
	ioLast  IO         // the last identity issued: the next is one above, never 0
	ios     []ioRecord // in flight, looked up by identity
	sectors []headerSector
	buffer  []byte // scratch for what a write carries; the storage copies it

	rootWriting rootState // the state being written, Sequence 0 when no write is
	rootCopies  int       // copies of rootWriting completed, of its pair of two
}

// headerSector is what the replica last asked to be written to one sector of ZoneHeaders.
type headerSector struct {
	issued  [headersPerSector]Checksum // by slot, zero for none
	ops     [headersPerSector]Op       // the op of each slot it was issued for
	writing bool                       // a write of it, or its read-back, is in flight
	// rewrite: what the sector holds is not what was issued (a read-back that did not
	// match, junk found at start-up): it is written again even if nothing changed.
	rewrite bool
}

// Completed reports that the IO id completed: the driver calls it for every read or write
// the replica issued, from its loop (never from inside Read or Write). A write's data is
// nil; failed is a read's I/O error.
func (r *Replica) Completed(id IO, write bool, data []byte, failed bool) {
	assert(r.received == nil) // not from inside Receive
	assert(id != 0 && id <= r.disk.ioLast)
	// A write never fails and carries no data; a read carries data or fails.
	if write && (failed || data != nil) || !write && failed == (data != nil) {
		panic(fmt.Sprintf("core: replica %d: IO %d completed as write %v, failed %v, %d bytes",
			r.index, id, write, failed, len(data)))
	}
	if r.opening != nil {
		r.openCompleted(id, write, data, failed)
		r.flushStorage()
		r.invariants()
		return
	}
	io := r.takeIO(id)
	if write != (io.kind != ioHeadersVerify && io.kind != ioPrepareVerify && io.kind != ioCheckpointVerify) {
		panic(fmt.Sprintf("core: replica %d: IO %d of kind %d completed as write %v", r.index, id, io.kind, write))
	}
	rootDone := false
	switch io.kind {
	case ioRootCopy:
		rootDone = r.completedRoot(&io)
	case ioPrepare:
		r.completedPrepare(&io)
	case ioHeaders:
		r.completedHeaders(&io)
	case ioHeadersVerify:
		r.verifiedHeaders(&io, data)
	case ioPrepareVerify:
		r.verifiedPrepare(&io, data)
	case ioCheckpoint:
		r.completedCheckpoint(&io)
	case ioCheckpointVerify:
		r.verifiedCheckpoint(&io, data)
	default:
		panic(fmt.Sprintf("core: IO %d of kind %d", id, io.kind))
	}
	r.durabilityChanged(rootDone)
	r.flushStorage()
	r.invariants()
}

// issueIO records an IO in flight and returns its identity.
func (r *Replica) issueIO(io ioRecord) IO {
	d := &r.disk
	if len(d.ios) >= ioInflightMax {
		panic(fmt.Sprintf("core: replica %d has %d IOs in flight", r.index, len(d.ios)))
	}
	d.ioLast++
	io.id = d.ioLast
	assert(io.id != 0 && io.kind >= ioRootCopy && io.kind <= ioCheckpointVerify && io.kind != ioOpen)
	d.ios = append(d.ios, io)
	return io.id
}

// takeIO removes the IO id from the table and returns it.
func (r *Replica) takeIO(id IO) ioRecord {
	d := &r.disk
	for i := range d.ios {
		if d.ios[i].id == id {
			io := d.ios[i]
			last := len(d.ios) - 1
			d.ios[i] = d.ios[last]
			d.ios = d.ios[:last]
			assert(io.id == id)
			return io
		}
	}
	panic(fmt.Sprintf("core: replica %d: IO %d completed, not in flight", r.index, id))
}

// prepareWriting reports whether a write of op's prepare slot is in flight (of op, or of an
// op of an earlier lap in the same slot: the disk lands overlapping writes in completion
// order, and a late one would overwrite the later op's prepare after its read-back).
func (r *Replica) prepareWriting(op Op) bool {
	assert(op < r.journal.size)
	slot := r.config.slotOf(op)
	for i := range r.disk.ios {
		if io := &r.disk.ios[i]; (io.kind == ioPrepare || io.kind == ioPrepareVerify) && r.config.slotOf(io.op) == slot {
			return true
		}
	}
	return false
}

// ringWindow reports whether op lies in the ring's window on disk: above the durable
// checkpoint, within JournalSlots of it (its slot's earlier ops covered by the checkpoint).
func (r *Replica) ringWindow(op Op) bool {
	c := r.root.Checkpoint.ID.Op
	return op > c && op <= c+Op(r.config.journalSlots())
}

// flushStorage writes out what changed in this event: the journal entries that changed,
// and the root when the view or the log view moved. Called at the end of every event.
func (r *Replica) flushStorage() {
	j := r.journal
	if r.opening != nil {
		return // the opening issues its own IOs; what the log holds is written once it ends
	}
	for _, op := range j.changed {
		assert(op < j.size)
		if j.cleared(op) {
			continue // compacted since it changed: a durable checkpoint covers it
		}
		r.writePrepare(op)
		r.writeHeaders(r.config.slotOf(op) / headersPerSector)
	}
	j.changed = j.changed[:0]
	r.writeRoot()
	assert(len(j.changed) == 0)
}

// writePrepare writes the prepare held at op to its slot, unless it is on disk already or
// a write of the slot is in flight (its completion writes again what changed).
func (r *Replica) writePrepare(op Op) {
	e := r.journal.entry(op)
	if e.message == nil || e.prepareDurable || !r.ringWindow(op) || r.prepareWriting(op) {
		return // nothing to write, or on disk, or its slot not free yet, or being written
	}
	// The bytes are the prepare of this op with this checksum: the slot proves itself.
	assert(len(e.message) == int(e.header.Size) && getChecksum(e.message) == e.header.Checksum)
	slotBytes := r.config.slotSectors() * SectorSize
	size := (len(e.message) + SectorSize - 1) / SectorSize * SectorSize
	assert(uint64(size) <= slotBytes)
	b := r.scratch(size)
	copy(b, e.message)
	id := r.issueIO(ioRecord{kind: ioPrepare, op: op, checksum: e.header.Checksum, size: size})
	r.disk.storage.Write(id, ZonePrepares, r.config.slotOf(op)*slotBytes, b)
}

// scratch returns the write buffer, zeroed, size bytes long.
func (r *Replica) scratch(size int) []byte {
	assert(size > 0 && size%SectorSize == 0)
	d := &r.disk
	if cap(d.buffer) < size {
		d.buffer = make([]byte, size)
	}
	b := d.buffer[:size]
	clear(b)
	assert(len(b) == size)
	return b
}

// sectorHeaders is what sector s of ZoneHeaders should hold, and for which ops: for each
// slot, the op of the ring's window there, and its header if its prepare is on disk, zero
// if not.
func (r *Replica) sectorHeaders(s uint64) (want [headersPerSector]Checksum, ops [headersPerSector]Op) {
	j := r.journal
	assert(s < uint64(r.config.journalSlots())/headersPerSector)
	for k := range want {
		op := r.config.ringOp(r.root.Checkpoint.ID.Op, s*headersPerSector+uint64(k))
		ops[k] = op
		if op >= j.size || j.cleared(op) {
			continue // never held, or compacted (a durable checkpoint covers it)
		}
		if e := j.entry(op); e.prepareDurable || e.headerKept {
			assert(!e.header.Checksum.IsZero() && e.header.Op == op)
			want[k] = e.header.Checksum
		} else if e.junkKept {
			assert(e.header.Checksum.IsZero())
			want[k] = junkMark
		}
	}
	return want, ops
}

// junkMark stands, in a sector's entries, for a junk entry kept (journalEntry.junkKept):
// no checksum of a header is all ones.
var junkMark = Checksum{Lo: ^uint64(0), Hi: ^uint64(0)}

// writeHeaders writes sector s of ZoneHeaders if what it should hold is not what was last
// written there, and no write of it is in flight.
func (r *Replica) writeHeaders(s uint64) {
	d := &r.disk
	for uint64(len(d.sectors)) <= s {
		d.sectors = append(d.sectors, headerSector{})
	}
	sector := &d.sectors[s]
	if sector.writing {
		return // its completion writes it
	}
	want, ops := r.sectorHeaders(s)
	if want == sector.issued && ops == sector.ops && !sector.rewrite {
		return
	}
	b := r.scratch(SectorSize)
	for k := range want {
		if want[k].IsZero() {
			writeEmptyEntry(b[k*HeaderSize:(k+1)*HeaderSize], r.config.Cluster, ops[k])
			continue
		}
		if want[k] == junkMark {
			chunk := b[k*HeaderSize : (k+1)*HeaderSize]
			for i := range chunk {
				chunk[i] = 0xff // no header: read back as corrupt, the op unknown
			}
			continue
		}
		// The entry's header, below the floor too: kept on disk until a durable checkpoint
		// covers it (journal.compact).
		h := &r.journal.entry(ops[k]).header
		assert(h.Op == ops[k] && h.Checksum == want[k])
		var w wire
		h.toWire(&w, r.config.Cluster)
		chunk := b[k*HeaderSize : (k+1)*HeaderSize]
		w.write(chunk)
		// Laid out again from its fields, the header verifies: the bytes the prepare began with.
		assert(checksumOf(chunk[16:]) == want[k])
	}
	sector.issued, sector.ops, sector.writing, sector.rewrite = want, ops, true, false
	id := r.issueIO(ioRecord{kind: ioHeaders, at: s, ops: ops, headers: want, sector: checksumOf(b)})
	d.storage.Write(id, ZoneHeaders, s*SectorSize, b)
}

// completedPrepare notes a prepare on disk, if the entry still holds that prepare, and
// writes its header sector; otherwise the slot is written again with what it now holds.
func (r *Replica) completedPrepare(io *ioRecord) {
	assert(io.kind == ioPrepare && !io.checksum.IsZero())
	assert(!r.prepareWriting(io.op)) // one write of a slot at a time
	assert(io.size > 0 && io.size%SectorSize == 0)
	// Read back before it counts: a write the disk reported done may have landed elsewhere
	// (misdirected), and the header written after it would then name a prepare the slot
	// never held, which would leave a blank slot under a header: not provably never acked.
	// With the read-back, a prepare slot that is blank proves its header was never written.
	verify := *io
	verify.kind = ioPrepareVerify
	id := r.issueIO(verify)
	r.disk.storage.Read(id, ZonePrepares, r.config.slotOf(io.op)*r.config.slotSectors()*SectorSize, io.size)
}

// holdsPrepare reports whether b, read from a prepare slot, begins with the prepare whose
// header checksum is checksum, header and body intact.
func holdsPrepare(b []byte, cluster uint64, checksum Checksum) bool {
	assert(!checksum.IsZero())
	assert(len(b) >= HeaderSize && len(b)%SectorSize == 0)
	var w wire
	if w.parse(b[:HeaderSize], cluster) != nil || w.checksum != checksum || int(w.size) > len(b) {
		return false
	}
	return checksumOf(b[HeaderSize:w.size]) == w.checksumBody
}

// verifiedPrepare notes the prepare on disk if the slot read back holds it intact and the
// entry still holds that prepare, and writes its header sector; otherwise (a misdirected
// write, rot, a read error: data nil) it writes the slot again.
func (r *Replica) verifiedPrepare(io *ioRecord, data []byte) {
	assert(io.kind == ioPrepareVerify && !io.checksum.IsZero())
	assert(!r.prepareWriting(io.op))
	if r.journal.cleared(io.op) {
		return // compacted while its write was in flight: a durable checkpoint covers it
	}
	e := r.journal.entry(io.op)
	held := false
	if data != nil {
		assert(len(data) == io.size)
		held = holdsPrepare(data, r.config.Cluster, io.checksum)
	}
	if e.header.Checksum == io.checksum {
		// Replaced meanwhile and back again would have reset it: one write was in flight.
		assert(!e.prepareDurable && !e.headerDurable)
		e.prepareDurable = held
		if !held {
			r.stats.PreparesRewritten++
		}
		if s, k := r.config.slotOf(io.op)/headersPerSector, r.config.slotOf(io.op)%headersPerSector; held &&
			e.headerKept && s < uint64(len(r.disk.sectors)) {
			// A kept header (restart.go) already written and read back: with its prepare
			// durable now, both are on disk, and the sector, unchanged, is not written
			// again to say so. (A write of it in flight says so when read back.) Without
			// this the op was never acknowledged: seed 56 stalled its pipeline.
			sector := &r.disk.sectors[s]
			if !sector.writing && !sector.rewrite && sector.issued[k] == io.checksum && sector.ops[k] == io.op {
				e.headerDurable = true
			}
		}
	}
	r.writePrepare(io.op)
	r.writeHeaders(r.config.slotOf(io.op) / headersPerSector)
}

// completedHeaders reads back the header sector just written: its headers count as on
// disk only once the read-back shows the bytes landed there (verifiedHeaders).
func (r *Replica) completedHeaders(io *ioRecord) {
	assert(io.kind == ioHeaders)
	s := io.at
	assert(r.disk.sectors[s].writing) // the read-back keeps the sector's one IO in flight
	verify := *io
	verify.kind = ioHeadersVerify
	id := r.issueIO(verify)
	r.disk.storage.Read(id, ZoneHeaders, s*SectorSize, SectorSize)
}

// verifiedHeaders notes the headers of a sector on disk, for every entry that still holds
// the header written and whose prepare is on disk, if the sector read back holds what was
// written; otherwise (a misdirected write, rot, a read error: data nil) it writes the
// sector again. It writes the sector again too if it changed meanwhile.
func (r *Replica) verifiedHeaders(io *ioRecord, data []byte) {
	assert(io.kind == ioHeadersVerify)
	s := io.at
	sector := &r.disk.sectors[s]
	assert(sector.writing && !sector.rewrite)
	sector.writing = false
	if data == nil || checksumOf(data) != io.sector {
		assert(data == nil || len(data) == SectorSize)
		sector.rewrite = true
		r.stats.HeadersRewritten++
		r.writeHeaders(s)
		return
	}
	for k, checksum := range io.headers {
		op := io.ops[k]
		if checksum.IsZero() || op >= r.journal.size || r.journal.cleared(op) {
			continue
		}
		e := r.journal.entry(op)
		if e.header.Checksum == checksum && e.prepareDurable {
			e.headerDurable = true
		}
	}
	r.writeHeaders(s)
}

// writeRoot starts a write of the root when the view or the log view is not what is
// durable, unless a write is in flight (its completion starts the next). A recovering
// replica has no view to keep yet.
func (r *Replica) writeRoot() {
	d := &r.disk
	if d.rootWriting.Sequence != 0 || r.status == StatusRecovering {
		return
	}
	if r.root.Sequence != 0 && r.root.View == r.view && r.root.LogView == r.logView &&
		r.root.Head == r.headInstalled && r.root.HeadChecksum == r.headInstalledChecksum &&
		r.root.Recovered == r.recovery.recoveredOp && !r.checkpoint.ready() {
		return
	}
	assert(r.root.View <= r.view && r.root.LogView <= r.logView)
	assert(!r.headInstalledChecksum.IsZero())
	d.rootWriting = rootState{Sequence: r.root.Sequence + 1, View: r.view, LogView: r.logView,
		Commit: r.commitMax, Head: r.headInstalled, HeadChecksum: r.headInstalledChecksum}
	d.rootWriting.setWindow(r.headInstalledWindow)
	d.rootWriting.Recovered = r.recovery.recoveredOp
	d.rootWriting.Checkpoint = r.rootCheckpoint()
	// A checkpoint named is never taken back for an older one.
	assert(d.rootWriting.Checkpoint.ID.Op >= r.root.Checkpoint.ID.Op)
	// An abstention is never dropped.
	assert(r.recovery.recoveredOp >= r.root.Recovered)
	d.rootCopies = 0 // copies of the pair completed
	for _, copy := range rootPair(d.rootWriting.Sequence) {
		r.writeRootCopy(copy)
	}
}

// writeRootCopy writes one copy of the root being written.
func (r *Replica) writeRootCopy(copy int) {
	d := &r.disk
	assert(d.rootWriting.Sequence == r.root.Sequence+1)
	assert(copy == rootPair(d.rootWriting.Sequence)[0] || copy == rootPair(d.rootWriting.Sequence)[1])
	b := encodeRootInto(r.scratch(SectorSize), r.config.Cluster, r.index, copy, &d.rootWriting)
	id := r.issueIO(ioRecord{kind: ioRootCopy, copy: copy, sequence: d.rootWriting.Sequence})
	d.storage.Write(id, ZoneRoot, uint64(copy)*SectorSize, b)
}

// completedRoot counts a copy of the root being written, and reports whether it was the
// pair's second: the root is durable at the state written.
func (r *Replica) completedRoot(io *ioRecord) bool {
	d := &r.disk
	// Both copies of the state's pair are in flight at once, and nothing else of the root.
	pair := rootPair(d.rootWriting.Sequence)
	assert(io.kind == ioRootCopy && io.sequence == d.rootWriting.Sequence)
	assert(io.copy == pair[0] || io.copy == pair[1])
	assert(d.rootCopies == 0 || d.rootCopies == 1)
	d.rootCopies++
	if d.rootCopies < len(pair) {
		return false
	}
	before := r.root.Checkpoint.ID.Op
	r.root, d.rootWriting, d.rootCopies = d.rootWriting, rootState{}, 0
	assert(r.root.View <= r.view && r.root.LogView <= r.logView)
	r.checkpointDurable()
	if r.root.Checkpoint.ID.Op > before {
		r.ringMoved(before)
	}
	return true
}

// ringMoved writes what the ring's window on disk gained when the durable checkpoint moved
// up from before: the held ops that waited above the old window, now that their slots'
// earlier ops are covered.
func (r *Replica) ringMoved(before Op) {
	j, ring := r.journal, Op(r.config.journalSlots())
	after := r.root.Checkpoint.ID.Op
	assert(after > before)
	for op := max(before+ring+1, after+1); op <= after+ring && op <= j.op; op++ {
		if !j.cleared(op) {
			r.writePrepare(op)
			r.writeHeaders(r.config.slotOf(op) / headersPerSector)
		}
	}
}

// rootNormal reports whether the durable root says this replica is normal in its view.
func (r *Replica) rootNormal() bool {
	assert(r.root.View <= r.view)
	// A root at all: before the first one is durable, the zero state reads as view 0, log
	// view 0, and a replica of view 0 acknowledged and prepared on it; crashed then, it
	// restarts fresh (Promised) and forgets what it sent (seed 1397, whole-cluster crashes
	// on: the primary of view 0 prepared another op 1 in view 0).
	return r.root.Sequence > 0 && r.root.View == r.view && r.root.LogView == r.view
}

// ackable reports whether this replica may acknowledge the prepare it holds at op: its
// entry is durable, and the disk says the replica is normal in this view.
func (r *Replica) ackable(op Op) bool {
	assert(op > 0 && op <= r.journal.op)
	if r.bug(BugAckBeforeDurable) {
		return r.status == StatusNormal && r.logView == r.view && r.journal.message(op) != nil
	}
	return r.rootNormal() && r.journal.entry(op).durable()
}

// durabilityChanged sends what waited for a write that completed: a backup's prepare_oks,
// the primary's own acknowledgements (and the commits they complete), the start_views
// of a view whose root became durable, a do_view_change.
func (r *Replica) durabilityChanged(rootDone bool) {
	switch {
	case r.status == StatusNormal && !r.isPrimary():
		r.sendPrepareOks()
	case r.status == StatusNormal:
		r.ackOwn()
		if rootDone && r.rootNormal() && r.commitMin == r.commitMax {
			r.prepareQueued() // requests that waited for the root
		}
		// View 0 starts everywhere at once: no start_view is waited for.
		if rootDone && r.rootNormal() && r.view > 0 {
			assert(r.logView == r.view)
			for i := 0; i < r.config.Replicas; i++ {
				if ReplicaIndex(i) != r.index {
					r.sendStartView(ReplicaIndex(i), 0)
				}
			}
		}
	case r.status == StatusViewChange:
		if rootDone && r.viewChange.dvcSent && r.root.View == r.view && r.root.LogView == r.logView {
			r.sendDoViewChange()
		}
	}
}

// ackOwn counts the primary's own acknowledgement of every op of its pipeline that became
// durable, and commits what that completes.
func (r *Replica) ackOwn() {
	p := &r.primary
	assert(r.status == StatusNormal && r.isPrimary())
	acked := false
	for i := range p.pipeline {
		entry := &p.pipeline[i]
		if !entry.acks.has(r.index) && r.ackable(entry.op) {
			assert(r.journal.held(entry.op, entry.checksum))
			entry.acks = entry.acks.with(r.index)
			acked = true
		}
	}
	if acked {
		r.commitPipeline()
	}
}

// ownAck is the primary's acknowledgement of an op it puts in its pipeline: itself, once
// its copy is durable.
func (r *Replica) ownAck(op Op) replicaSet {
	assert(r.status == StatusNormal && r.isPrimary())
	if r.ackable(op) {
		return replicaSet(0).with(r.index)
	}
	return 0
}
