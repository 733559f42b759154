package core

import "fmt"

// Storage is a replica's disk, sans-IO like its network: the replica asks for reads and
// writes of whole sectors in a zone, and the driver performs them and reports each one's
// completion by calling Replica.Completed, as it reports messages by calling Receive. A
// write completes only once it is durable (the device has no volatile cache the replica
// must flush); until then, a crash may lose it, or tear it (some of its sectors new, some
// old, one possibly garbage).
//
// The simulator's disk (package simstorage) and a file implement the same interface; the
// replica never learns which it runs on. Neither ever calls back into the replica from
// inside Read or Write: completions come later, from the driver's loop, and a completed
// read's bytes are valid only during the call that reports it. An IO's identity may be
// used again once its completion was reported, or after a crash.
type Storage interface {
	// Read asks for size bytes at offset (both multiples of SectorSize) of a zone. Its
	// completion carries the bytes read, or an I/O error (a latent sector error).
	Read(id IO, zone Zone, offset uint64, size int)
	// Write asks for data (a multiple of SectorSize long) to be written at offset of a
	// zone. The storage copies data before Write returns.
	Write(id IO, zone Zone, offset uint64, data []byte)
}

// IO identifies a read or write a replica issued; its completion names it again. Zero is
// never an IO's identity.
type IO uint64

// SectorSize is the unit of every read and write: offsets and sizes are multiples of it,
// and a torn write tears at sector boundaries.
const SectorSize = 4096

// Zone names a region of a replica's disk. Each zone starts at offset 0: a misdirected
// read or write lands on another sector of the same zone, never of another.
type Zone uint8

const (
	// ZoneRoot holds RootCopies copies of the durable root (view, log view, commit), a
	// sector each and an atlas chunk each, so that a torn or faulty copy leaves the latest
	// intact state recoverable from the others. Each copy names its index (root.go): a
	// copy read from, or written to, the wrong sector is recognised.
	ZoneRoot Zone = 1 + iota
	// ZoneHeaders holds the journal's headers again, beside the prepares, HeaderSize
	// bytes a slot and SectorSize/HeaderSize slots a sector: a crash between the two
	// writes of an op is recognisable.
	ZoneHeaders
	// ZonePrepares holds one prepare a journal slot, each slot MessageSizeMax bytes
	// (rounded up to whole sectors); a prepare writes only the sectors it covers.
	ZonePrepares
	// ZoneReplies holds the last reply of each client table entry, a slot each.
	ZoneReplies
	// ZoneCheckpoint holds two checkpoint areas (checkpoint.go), each CheckpointSizeMax
	// bytes in chunks of checkpointChunkSectors: the root names the area of the durable
	// checkpoint, and the next one is written to the other, so a crash while it is written
	// leaves the durable one whole.
	ZoneCheckpoint
	zoneEnd
)

// Zones lists every zone in order.
var Zones = [...]Zone{ZoneRoot, ZoneHeaders, ZonePrepares, ZoneReplies, ZoneCheckpoint}

func (z Zone) String() string {
	switch z {
	case ZoneRoot:
		return "root"
	case ZoneHeaders:
		return "headers"
	case ZonePrepares:
		return "prepares"
	case ZoneReplies:
		return "replies"
	case ZoneCheckpoint:
		return "checkpoint"
	}
	return fmt.Sprintf("zone(%d)", uint8(z))
}

// RootCopies is how many copies of the durable root a disk keeps.
const RootCopies = 4

// JournalSlotsDefault is the journal's ring in slots when a config names none: op n lies in
// slot n mod JournalSlots, on disk and in what memory keeps below the head.
const JournalSlotsDefault = 1024

// The ring on disk. Above the durable checkpoint C, the journal zone holds ops C+1 to
// C+JournalSlots, each in its slot: ringOp says which op a slot holds in that window, and
// only ops in it are written (an op above it waits, unacknowledged, for the next durable
// checkpoint: its slot still holds an op the checkpoint does not yet cover). What a slot
// holds of an earlier lap (an op at or below C) reads back as never written in this lap.

// slotOf is the slot of op in the ring.
func (c *Config) slotOf(op Op) uint64 { return uint64(op) % uint64(c.journalSlots()) }

// ringOp is the op whose slot is slot in the window above checkpoint: the one op of
// (checkpoint, checkpoint+JournalSlots] in that slot.
func (c *Config) ringOp(checkpoint Op, slot uint64) Op {
	ring := uint64(c.journalSlots())
	assert(slot < ring)
	first := uint64(checkpoint) + 1
	op := Op(first + (slot+ring-first%ring)%ring)
	assert(op > checkpoint && op <= checkpoint+Op(ring) && c.slotOf(op) == slot)
	return op
}

// ZoneLayout is the size of a zone and the unit in which the simulator's fault atlas
// decides which replicas may suffer faults there (a root copy, a header sector, a
// journal slot, a reply slot).
type ZoneLayout struct {
	Sectors      uint64 // the zone's size
	ChunkSectors uint64 // the atlas's unit; Sectors is a multiple of it
	// MirrorSectors, when not 0, says the zone is areas of this many sectors that take
	// turns holding the same data (the checkpoint zone's two areas): the chunk at one place
	// of every area is one chunk to the atlas, which may fault it on quorum−1 replicas in
	// all, whichever area each replica's data is in. Sectors and MirrorSectors are
	// multiples of ChunkSectors, Sectors of MirrorSectors.
	MirrorSectors uint64
}

// Layout is a disk's zones, by Zone.
type Layout [zoneEnd]ZoneLayout

// Layout is the disk a replica of this config needs.
func (c *Config) Layout() Layout {
	slots := uint64(c.journalSlots())
	headersPerSector := uint64(SectorSize / HeaderSize)
	var l Layout
	l[ZoneRoot] = ZoneLayout{Sectors: RootCopies, ChunkSectors: 1}
	l[ZoneHeaders] = ZoneLayout{Sectors: (slots + headersPerSector - 1) / headersPerSector, ChunkSectors: 1}
	l[ZonePrepares] = ZoneLayout{Sectors: slots * c.slotSectors(), ChunkSectors: c.slotSectors()}
	l[ZoneReplies] = ZoneLayout{Sectors: uint64(c.ClientTableMax) * c.slotSectors(), ChunkSectors: c.slotSectors()}
	l[ZoneCheckpoint] = ZoneLayout{Sectors: 2 * c.checkpointAreaSectors(), ChunkSectors: c.checkpointChunkSectors(),
		MirrorSectors: c.checkpointAreaSectors()}
	for _, z := range Zones {
		assert(l[z].Sectors > 0 && l[z].ChunkSectors > 0)
		assert(l[z].Sectors%l[z].ChunkSectors == 0)
		assert(l[z].MirrorSectors == 0 || l[z].Sectors%l[z].MirrorSectors == 0 && l[z].MirrorSectors%l[z].ChunkSectors == 0)
	}
	return l
}

// slotSectors is the sectors of one message slot: a prepare or a reply of any size.
func (c *Config) slotSectors() uint64 {
	assert(c.MessageSizeMax >= HeaderSize)
	assert(SectorSize%HeaderSize == 0)
	return (uint64(c.MessageSizeMax) + SectorSize - 1) / SectorSize
}

func (c *Config) journalSlots() int {
	if c.JournalSlots == 0 {
		return JournalSlotsDefault
	}
	assert(c.JournalSlots > 0)
	return c.JournalSlots
}
