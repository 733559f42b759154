package core

import (
	"fmt"
	"sort"

	"github.com/vsrsim/vsrsim/entropy"
)

// Opening: a replica built on a disk reads it back before it takes part (OpenReplica), in
// status StatusOpening, sans-IO like everything else: its reads complete through Completed.
//
//  1. The root: all RootCopies copies, then chooseRoot. A fresh disk (the driver says so)
//     must have none: the replica starts normal in view 0. No root on a disk that ran
//     before (wiped), or a root lost: nothing on this disk can be trusted to say what the
//     replica promised, so it recovers from its peers (VRR §4.3) and never votes with state
//     it no longer has. A root found: it is written again at once, every copy at Sequence+1
//     of the chosen state (a copy of a newer state only partly written must not win after
//     a later fault), and the journal is read.
//  2. The header sectors of ZoneHeaders, openSectorsRead sectors a read, at most
//     openReadsMax reads in flight (a read that fails is split into single sectors).
//  3. The prepare slot of every op of the ring's window above the root's checkpoint, each read
//     sized from its header (one sector when the header is not valid, then the size the
//     prepare's own header names). Each slot is classified by readSlotHeader,
//     readSlotPrepare and decideSlot: the one decision table (slots.go).
//  4. The log (openLog): ops above the root's Head of a view below its LogView were
//     truncated by that view's install and are discarded (the write path blanked their
//     header entries, but a prepare slot left behind reads as slotPrepareOnly and would
//     resurrect them); the head is the highest op left whose header is known, and trust
//     runs down from it by parent checksums (journal.extendChain); damaged ops (header
//     known) are repaired by checksum, unknown ones below the head by the chain above them.
//
// Then the replica restarts (restartFromDisk). Its state machine and client table are in
// memory only: it executes ops 1..commit again from its journal, which regenerates every
// reply the client table caches, so exactly-once survives a crash. ZoneReplies stays unused
// until checkpoints bound the log and replies must outlive the journal.

// Opening's bounds: header sectors a read covers, and reads in flight.
const (
	openSectorsRead = 64
	openReadsMax    = 256
)

// openKind is what an IO of the opening is.
type openKind uint8

const (
	openRootRead openKind = iota + 1
	openRootWrite
	openHeadersRead
	openPrepareRead
	openCheckpointRead
)

// openIO is one IO of the opening in flight.
type openIO struct {
	id      IO
	kind    openKind
	at      uint64 // root: the copy; headers: the first sector; prepare: the op; checkpoint: the chunk
	sectors uint64 // headers, prepare: sectors read
	rereads int    // prepare: reads of a blank slot before this one (blankRereads)
}

// blankRereads is how many times a prepare slot read back blank under a header entry that
// is not blank is read again before the blank is believed. The decision table takes such a
// blank for proof that the op was never acknowledged (its header entry is junk), and a
// single misdirected read of a blank place would turn a durable, acknowledged prepare into
// an empty slot: seed 146, whole-cluster crashes on, nacked and truncated a committed op
// so (its header sector torn at a crash, its prepare read from elsewhere). Every read must
// now be misdirected to a blank place: the chance of one, to the power blankRereads+1.
const blankRereads = 3

// opening is what a replica reads back at start-up, until restartFromDisk.
type opening struct {
	fresh bool
	ios   []openIO // in flight

	rootsRead    int
	rootStates   [RootCopies]rootState
	rootVerdicts [RootCopies]rootVerdict
	choice       rootChoice
	root         rootState // chosen, then as written again

	headersNext  uint64       // the next header sector to read
	headersRetry []uint64     // sectors of a failed read, to read again one at a time
	entries      []openEntry  // header entries that are not blank, as read
	sectors      []openSector // header sectors that hold anything, as read
	prepares     []Op         // ops whose prepare slot is read, ascending
	preparesNext int          // the next of prepares to read
	slots        []openSlot   // classified, not empty
	// The checkpoint the root names, read back a chunk at a time: its bytes, each chunk's
	// checksum as read, and the next chunk to read.
	checkpoint     []byte
	checkpointSums []Checksum
	checkpointNext int
	checkpointBad  bool // a chunk could not be read
	// checkpointReads counts the reads of the whole checkpoint: one that does not make up
	// the root's identity is read again, up to checkpointReadsMax times.
	checkpointReads int
	stats           openStats
}

// openEntry is a header entry that is not blank.
type openEntry struct {
	op     Op
	kind   slotHeader
	header PrepareHeader // slotHeaderValid, slotHeaderOther: the header found
}

// openSector is what a header sector held when read: the valid entries (for the write path
// to know what is on disk already) and whether anything else was there.
type openSector struct {
	sector uint64
	valid  [headersPerSector]Checksum
	junk   bool // an entry neither blank nor its op's valid header, or unreadable
}

// openSlot is a slot decided, with the prepare held when the decision holds one.
type openSlot struct {
	op       Op
	decision slotDecision
	header   PrepareHeader
	message  []byte
}

// openStats counts what the opening found: marks for the tests that a path was taken.
type openStats struct {
	decisions   [slotUnknown + 1]int
	discarded   int // ops above the root's head of an older view: truncated, not resurrected
	torn        int // unknown ops above the head: writes a crash tore, never acknowledged
	uncertainAt Op  // the highest damaged or unknown op, 0 for none
	// checkpoint: whether the checkpoint the root names read back whole (its identity
	// verified), 0 when the root names none.
	checkpoint checkpointRead
}

// checkpointRead is what the opening made of the root's checkpoint.
type checkpointRead uint8

const (
	checkpointNone checkpointRead = iota
	checkpointWhole
	checkpointLost // a chunk unreadable, or the chunks do not make up the identity
)

// OpenReplica builds replica index on its storage and reads the storage back before it
// takes part: until then it is in StatusOpening, takes no message and no tick, and only
// Completed moves it on. fresh says the driver gave it a disk never used (a first start):
// that disk must hold no root. Everything else is as NewReplica.
func OpenReplica(config Config, index ReplicaIndex, sm StateMachine, bus MessageBus, clock Clock,
	rand *entropy.Rand, storage Storage, fresh bool) *Replica {
	r := newReplica(config, index, sm, bus, clock, rand, storage)
	r.status = StatusOpening
	r.opening = &opening{fresh: fresh}
	for copy := 0; copy < RootCopies; copy++ {
		r.openIssue(openIO{kind: openRootRead, at: uint64(copy), sectors: 1})
	}
	r.invariants()
	return r
}

// openIssue issues one IO of the opening.
func (r *Replica) openIssue(io openIO) {
	o := r.opening
	assert(len(o.ios) < openReadsMax+RootCopies)
	r.disk.ioLast++
	io.id = r.disk.ioLast
	o.ios = append(o.ios, io)
	size := int(io.sectors) * SectorSize
	switch io.kind {
	case openRootRead:
		r.disk.storage.Read(io.id, ZoneRoot, io.at*SectorSize, SectorSize)
	case openRootWrite:
		b := encodeRootInto(r.scratch(SectorSize), r.config.Cluster, r.index, int(io.at), &o.root)
		r.disk.storage.Write(io.id, ZoneRoot, io.at*SectorSize, b)
	case openHeadersRead:
		r.disk.storage.Read(io.id, ZoneHeaders, io.at*SectorSize, size)
	case openPrepareRead:
		r.disk.storage.Read(io.id, ZonePrepares, r.config.slotOf(Op(io.at))*r.config.slotSectors()*SectorSize, size)
	case openCheckpointRead:
		r.disk.storage.Read(io.id, ZoneCheckpoint, r.checkpointChunkAt(o.root.Checkpoint.Area, int(io.at)), size)
	default:
		panic(fmt.Sprintf("core: opening IO of kind %d", io.kind))
	}
}

// openCompleted takes one completion of the opening, issues what follows, and finishes the
// opening once nothing is left to read or write.
func (r *Replica) openCompleted(id IO, write bool, data []byte, failed bool) {
	o := r.opening
	io := r.openTake(id)
	if write != (io.kind == openRootWrite) {
		panic(fmt.Sprintf("core: replica %d: opening IO %d of kind %d completed as write %v",
			r.index, id, io.kind, write))
	}
	switch io.kind {
	case openRootRead:
		r.openRootCopy(&io, data)
	case openRootWrite:
	case openHeadersRead:
		r.openHeaders(&io, data)
	case openPrepareRead:
		r.openPrepare(&io, data)
	case openCheckpointRead:
		r.openCheckpointChunk(&io, data)
	}
	assert(!failed || data == nil)
	r.openIssueReads()
	if len(o.ios) == 0 && o.rootsRead == RootCopies {
		r.finishOpening()
	}
}

// openTake removes the opening's IO id from flight.
func (r *Replica) openTake(id IO) openIO {
	o := r.opening
	for i := range o.ios {
		if o.ios[i].id == id {
			io := o.ios[i]
			o.ios = append(o.ios[:i], o.ios[i+1:]...)
			return io
		}
	}
	panic(fmt.Sprintf("core: replica %d: opening IO %d completed, not in flight", r.index, id))
}

// openRootCopy decodes a root copy read back (nil: unreadable, as good as corrupt), and
// once every copy is in, chooses the root.
func (r *Replica) openRootCopy(io *openIO, data []byte) {
	o := r.opening
	copy := int(io.at)
	assert(copy < RootCopies && o.rootVerdicts[copy] == 0)
	if data == nil {
		o.rootVerdicts[copy] = rootCorrupt
	} else {
		if r.bug(BugRootUnchecked) && !allZero(data) {
			// The copy's checksum taken on trust: whatever it holds, it passes.
			data = append([]byte(nil), data...)
			checksumOf(data[rootClusterAt:]).put(data[rootChecksumAt:])
		}
		o.rootStates[copy], o.rootVerdicts[copy] = decodeRoot(data, r.config.Cluster, r.index, copy)
	}
	o.rootsRead++
	if o.rootsRead < RootCopies {
		return
	}
	o.root, o.choice = chooseRoot(&o.rootStates, &o.rootVerdicts)
	if o.fresh && o.choice == rootFound && (o.root.Sequence != 1 || o.root.View != 0) {
		// A fresh start is one the driver vouches nothing was promised before (Promised):
		// at most the first root, of view 0, landed without its completion being heard.
		panic(fmt.Sprintf("core: replica %d: a fresh disk holds a root of view %d, sequence %d",
			r.index, o.root.View, o.root.Sequence))
	}
	if o.fresh {
		// Never written, or never heard complete: a copy read back as garbage rotted or
		// failed on the way (the disk's faults reach sectors never written too), or was torn
		// by a crash before it completed. Nothing was promised, so nothing was lost.
		o.choice = rootNone
	}
	if o.choice != rootFound {
		return
	}
	// The state chosen, at the next sequence, to the other pair (rootPair): the pair that
	// holds the chosen copy is not touched, so whatever a crash leaves of these writes, the
	// newest intact copy is this state, and once they complete it is durable on both copies
	// of a pair even if the copy it was read from was the only one (its write cut short).
	o.root.Sequence++
	for _, copy := range rootPair(o.root.Sequence) {
		r.openIssue(openIO{kind: openRootWrite, at: uint64(copy)})
	}
}

// openIssueReads keeps up to openReadsMax reads of the journal in flight: the header
// sectors first, then the prepare slots.
func (r *Replica) openIssueReads() {
	o := r.opening
	if o.choice != rootFound {
		return
	}
	r.openIssueCheckpoint()
	layout := r.config.Layout()
	headerSectors := layout[ZoneHeaders].Sectors
	for r.openReads() < openReadsMax && len(o.headersRetry) > 0 {
		last := len(o.headersRetry) - 1
		r.openIssue(openIO{kind: openHeadersRead, at: o.headersRetry[last], sectors: 1})
		o.headersRetry = o.headersRetry[:last]
	}
	for r.openReads() < openReadsMax && o.headersNext < headerSectors {
		n := min(openSectorsRead, headerSectors-o.headersNext)
		r.openIssue(openIO{kind: openHeadersRead, at: o.headersNext, sectors: n})
		o.headersNext += n
	}
	headersRead := o.headersNext == headerSectors && len(o.headersRetry) == 0 &&
		(o.checkpoint == nil || o.checkpointNext == len(o.checkpointSums))
	if !headersRead || r.openReads() > 0 && o.prepares == nil {
		return // the prepares to read are known once every header is
	}
	if o.prepares == nil {
		r.openPlanPrepares()
	}
	for r.openReads() < openReadsMax && o.preparesNext < len(o.prepares) {
		op := o.prepares[o.preparesNext]
		o.preparesNext++
		sectors := uint64(1)
		if e, ok := o.entry(op); ok && e.kind == slotHeaderValid {
			sectors = (uint64(e.header.Size) + SectorSize - 1) / SectorSize
		}
		r.openIssue(openIO{kind: openPrepareRead, at: uint64(op), sectors: sectors})
	}
}

// openIssueCheckpoint reads the chunks of the checkpoint the root names, before the journal.
func (r *Replica) openIssueCheckpoint() {
	o := r.opening
	id := &o.root.Checkpoint.ID
	if id.Op == 0 {
		return
	}
	chunk := r.config.checkpointChunk()
	chunks := int((id.Size + chunk - 1) / chunk)
	if o.checkpoint == nil {
		o.checkpoint = make([]byte, id.Size)
		o.checkpointSums = make([]Checksum, chunks)
	}
	for r.openReads() < openReadsMax && o.checkpointNext < chunks {
		part := min(chunk, id.Size-uint64(o.checkpointNext)*chunk)
		r.openIssue(openIO{kind: openCheckpointRead, at: uint64(o.checkpointNext),
			sectors: (part + SectorSize - 1) / SectorSize})
		o.checkpointNext++
	}
}

// checkpointReadsMax is how many times a restart reads its checkpoint before it takes the
// state for lost. A read misdirected to another place (the disk's fault, not the data's)
// made an intact checkpoint look lost, and with two replicas of three so at once nobody
// could send the state (seed 191, whole-cluster crashes on).
const checkpointReadsMax = 4

// openCheckpointChunk keeps a chunk of the checkpoint read back, and its checksum, and
// once every chunk is in reads the whole checkpoint again if it does not make up the
// root's identity (checkpointReadsMax).
func (r *Replica) openCheckpointChunk(io *openIO, data []byte) {
	o := r.opening
	r.openCheckpointChunkKeep(io, data)
	if o.checkpointNext < len(o.checkpointSums) {
		return
	}
	for i := range o.ios {
		if o.ios[i].kind == openCheckpointRead {
			return // the last chunks are still in flight
		}
	}
	if o.openCheckpointVerdict() == checkpointLost && o.checkpointReads+1 < checkpointReadsMax {
		o.checkpointReads++
		o.checkpointNext, o.checkpointBad = 0, false
		clear(o.checkpointSums)
	}
}

// openCheckpointChunkKeep keeps a chunk of the checkpoint read back, and its checksum.
func (r *Replica) openCheckpointChunkKeep(io *openIO, data []byte) {
	o := r.opening
	chunk := r.config.checkpointChunk()
	from := io.at * chunk
	part := min(chunk, o.root.Checkpoint.ID.Size-from)
	assert(from < uint64(len(o.checkpoint)) && part <= io.sectors*SectorSize)
	if data == nil {
		o.checkpointBad = true
		return
	}
	copy(o.checkpoint[from:from+part], data[:part])
	o.checkpointSums[io.at] = checksumOf(data[:part])
}

// openCheckpointVerdict checks the chunks read back against the root's identity.
func (o *opening) openCheckpointVerdict() checkpointRead {
	if o.root.Checkpoint.ID.Op == 0 {
		return checkpointNone
	}
	if o.checkpointBad || checksumOfSums(o.checkpointSums) != o.root.Checkpoint.ID.Checksum {
		return checkpointLost
	}
	return checkpointWhole
}

// openReads counts the opening's reads in flight (root writes aside).
func (r *Replica) openReads() int {
	n := 0
	for i := range r.opening.ios {
		if r.opening.ios[i].kind != openRootWrite {
			n++
		}
	}
	return n
}

// openHeaders classifies the header entries of sectors read back. A multi-sector read that
// failed is read again a sector at a time, so that one bad sector costs only its entries.
func (r *Replica) openHeaders(io *openIO, data []byte) {
	o := r.opening
	if data == nil && io.sectors > 1 {
		for k := uint64(0); k < io.sectors; k++ {
			o.headersRetry = append(o.headersRetry, io.at+k)
		}
		return
	}
	assert(data == nil || uint64(len(data)) == io.sectors*SectorSize)
	for k := uint64(0); k < io.sectors; k++ {
		s := io.at + k
		var b []byte
		if data != nil {
			b = data[k*SectorSize : (k+1)*SectorSize]
			if allZero(b) {
				continue
			}
		}
		sector := openSector{sector: s, junk: b == nil}
		written := b == nil // a sector with an entry that is not blank (or unreadable)
		for slot := uint64(0); slot < headersPerSector; slot++ {
			// The op of the ring's window above the root's checkpoint in this slot.
			op := r.config.ringOp(o.root.Checkpoint.ID.Op, s*headersPerSector+slot)
			var entry []byte
			if b != nil {
				entry = b[slot*HeaderSize : (slot+1)*HeaderSize]
			}
			kind, h := readSlotHeader(entry, r.config.Cluster, op, uint64(r.config.journalSlots()))
			if kind != slotHeaderBlank {
				written = true
			}
			switch kind {
			case slotHeaderBlank:
				continue
			case slotHeaderValid:
				sector.valid[slot] = h.Checksum
			default:
				sector.junk = true
			}
			o.entries = append(o.entries, openEntry{op: op, kind: kind, header: h})
		}
		if !written {
			// Empty entries only (a sector blanked, or written before its ops): as good as
			// never written. Listed, the sectors above the log would be blanked again at
			// every restart: thousands of writes a restart in seed 146, torn at each crash.
			continue
		}
		o.sectors = append(o.sectors, sector)
	}
}

// openPlanPrepares lists the prepare slots to read: every slot of the ring's window above
// the root's checkpoint, whatever its header entry says. A blank entry alone does not drop
// an op: the decision table wants its prepare slot blank too (or a prepare there, which it
// keeps). A header sector read from the wrong place can hold a stale image of itself (an
// earlier write of it, misdirected there), whose empty entries name exactly the ops of this
// sector: read so, an op the replica had acknowledged looked never written, its prepare
// was not read, and the next view truncated it though it had committed (seed 1358: a
// misdirected write of header sector 1 onto sector 0, and later a read of sector 1
// misdirected to sector 0). The window is JournalSlots ops: the cost is bounded.
func (r *Replica) openPlanPrepares() {
	o := r.opening
	sort.Slice(o.entries, func(i, j int) bool { return o.entries[i].op < o.entries[j].op })
	sort.Slice(o.sectors, func(i, j int) bool { return o.sectors[i].sector < o.sectors[j].sector })
	for i := range o.entries {
		assert(i == 0 || o.entries[i].op > o.entries[i-1].op) // each entry read once
	}
	checkpoint, ring := o.root.Checkpoint.ID.Op, Op(r.config.journalSlots())
	o.prepares = make([]Op, 0, ring)
	for op := checkpoint + 1; op <= checkpoint+ring; op++ {
		o.prepares = append(o.prepares, op)
	}
	assert(len(o.prepares) == int(ring))
}

// entry returns the header entry read for op, if it was not blank.
func (o *opening) entry(op Op) (*openEntry, bool) {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].op >= op })
	if i < len(o.entries) && o.entries[i].op == op {
		return &o.entries[i], true
	}
	return nil, false
}

// openPrepare classifies a prepare slot read back, reading it again whole if the prepare's
// own header names more than was read, and decides the slot.
func (r *Replica) openPrepare(io *openIO, data []byte) {
	o := r.opening
	op := Op(io.at)
	if data != nil {
		var w wire
		slotSectors := r.config.slotSectors()
		if w.parse(data[:HeaderSize], r.config.Cluster) == nil && w.command == CommandPrepare {
			if need := (uint64(w.size) + SectorSize - 1) / SectorSize; need > io.sectors && need <= slotSectors {
				r.openIssue(openIO{kind: openPrepareRead, at: io.at, sectors: need})
				return
			}
		}
	}
	read := slotRead{op: op, header: slotHeaderBlank}
	if e, ok := o.entry(op); ok {
		read.header = e.kind
		if e.kind == slotHeaderValid {
			read.fromHeader = e.header
		}
	}
	read.prepare, read.fromPrepare = readSlotPrepare(r.dec, data, op, uint64(r.config.journalSlots()))
	if read.prepare == slotPrepareBlank && read.header != slotHeaderBlank && io.rereads < blankRereads {
		r.openIssue(openIO{kind: openPrepareRead, at: io.at, sectors: io.sectors, rereads: io.rereads + 1})
		return
	}
	assert(io.rereads <= blankRereads)
	decision, h := decideSlot(&read)
	o.stats.decisions[decision]++
	if decision == slotEmpty {
		return
	}
	slot := openSlot{op: op, decision: decision, header: h}
	if decision == slotIntact || decision == slotPrepareOnly {
		assert(read.prepare == slotPrepareValid && h.Checksum == read.fromPrepare.Checksum)
		slot.message = append([]byte(nil), data[:h.Size]...)
	}
	o.slots = append(o.slots, slot)
}

// finishOpening leaves StatusOpening by what the root said: a fresh start, a recovery from
// the peers, or a restart from the disk.
func (r *Replica) finishOpening() {
	o := r.opening
	assert(len(o.ios) == 0 && o.rootsRead == RootCopies)
	r.opening = nil
	switch {
	case o.choice == rootNone && o.fresh:
		r.becomeNormal(0)
	case o.choice != rootFound:
		r.status = StatusRecovering // startRecovery's precondition: no role yet
		r.startRecovery()
	default:
		o.stats.checkpoint = o.openCheckpointVerdict()
		r.restartFromDisk(o)
	}
	r.opened = o.stats
	assert(r.status != StatusOpening)
}
