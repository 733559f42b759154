package simstorage

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// testLayout is a small disk: the root's four copies, eight header sectors, sixteen journal
// slots and four reply slots of four sectors each, and two checkpoint areas of two chunks
// of four sectors.
func testLayout() core.Layout {
	var l core.Layout
	l[core.ZoneRoot] = core.ZoneLayout{Sectors: core.RootCopies, ChunkSectors: 1}
	l[core.ZoneHeaders] = core.ZoneLayout{Sectors: 8, ChunkSectors: 1}
	l[core.ZonePrepares] = core.ZoneLayout{Sectors: 16 * 4, ChunkSectors: 4}
	l[core.ZoneReplies] = core.ZoneLayout{Sectors: 4 * 4, ChunkSectors: 4}
	l[core.ZoneCheckpoint] = core.ZoneLayout{Sectors: 2 * 2 * 4, ChunkSectors: 4}
	return l
}

// rig drives one disk as a replica and a driver would, and records what comes back.
type rig struct {
	t       *testing.T
	disk    *Disk
	atlas   *Atlas
	replica int
	faults  []Fault
	nextID  core.IO
	done    map[core.IO]Completion // with a copy of the data
	order   []core.IO              // completions, in the order delivered
	tickOf  map[core.IO]uint64     // the tick each completed at
}

// newRig builds the disk of one replica of three (quorum two: one replica faultable per
// chunk) on the test layout.
func newRig(t *testing.T, o Options, seed uint64, replica int) *rig {
	t.Helper()
	f := entropy.FromSeed(seed)
	atlas := NewAtlas(f.Stream("atlas"), 3, 2, testLayout())
	r := &rig{t: t, atlas: atlas, replica: replica, done: map[core.IO]Completion{},
		tickOf: map[core.IO]uint64{}}
	r.disk = New(testLayout(), o, f.Stream("disk"), atlas, replica)
	r.disk.OnFault = func(f Fault) { r.faults = append(r.faults, f) }
	return r
}

func (r *rig) write(zone core.Zone, sector uint64, data []byte) core.IO {
	r.nextID++
	r.disk.Write(r.nextID, zone, sector*core.SectorSize, data)
	return r.nextID
}

func (r *rig) read(zone core.Zone, sector, count uint64) core.IO {
	r.nextID++
	r.disk.Read(r.nextID, zone, sector*core.SectorSize, int(count*core.SectorSize))
	return r.nextID
}

func (r *rig) deliver(c Completion) {
	if _, twice := r.done[c.ID]; twice {
		r.t.Fatalf("IO %d completed twice", c.ID)
	}
	c.Data = bytes.Clone(c.Data)
	r.done[c.ID] = c
	r.order = append(r.order, c.ID)
	r.tickOf[c.ID] = r.disk.now
}

func (r *rig) tick() { r.disk.Tick(r.deliver) }

// settle ticks until nothing is in flight.
func (r *rig) settle() {
	r.t.Helper()
	for i := 0; r.disk.InFlight() > 0; i++ {
		if i > 1<<20 {
			r.t.Fatal("the disk never completed its operations")
		}
		r.tick()
	}
}

func (r *rig) writeNow(zone core.Zone, sector uint64, data []byte) {
	r.t.Helper()
	id := r.write(zone, sector, data)
	r.settle()
	if c := r.done[id]; !c.Write || c.Error || c.Data != nil {
		r.t.Fatalf("write %d completed as %+v", id, c)
	}
}

func (r *rig) readNow(zone core.Zone, sector, count uint64) Completion {
	r.t.Helper()
	id := r.read(zone, sector, count)
	r.settle()
	c := r.done[id]
	if c.Write || c.Error == (c.Data != nil) || (!c.Error && len(c.Data) != int(count)*core.SectorSize) {
		r.t.Fatalf("read %d completed as write=%v error=%v with %d bytes", id, c.Write, c.Error, len(c.Data))
	}
	return c
}

// chunkWhere returns the first sector of the first chunk of the zone whose atlas verdict
// for the rig's replica is allowed.
func (r *rig) chunkWhere(zone core.Zone, allowed bool) uint64 {
	r.t.Helper()
	z := testLayout()[zone]
	for s := uint64(0); s < z.Sectors; s += z.ChunkSectors {
		if r.atlas.Allows(r.replica, zone, s) == allowed {
			return s
		}
	}
	r.t.Fatalf("no chunk of zone %v with allowed=%v for replica %d", zone, allowed, r.replica)
	return 0
}

func (r *rig) faultsOf(kind FaultKind) []Fault {
	var out []Fault
	for _, f := range r.faults {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// pattern is sectors sectors of bytes unique to (tag, sector).
func pattern(tag uint32, sectors uint64) []byte {
	data := make([]byte, sectors*core.SectorSize)
	for i := 0; i < len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], uint64(tag)<<40|uint64(i/core.SectorSize)<<20|uint64(i))
	}
	return data
}

// sectorOf is sector i of data.
func sectorOf(data []byte, i uint64) []byte {
	return data[i*core.SectorSize : (i+1)*core.SectorSize]
}

// bitsDiffer counts the bits in which a and b differ.
func bitsDiffer(a, b []byte) int {
	n := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}

// mustPanic fails unless f panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		got := recover()
		if got == nil {
			t.Fatalf("no panic, want one about %q", want)
		}
		if s, _ := got.(string); !bytes.Contains([]byte(s), []byte(want)) {
			t.Fatalf("panic %v, want one about %q", got, want)
		}
	}()
	f()
}
