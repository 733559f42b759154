package simstorage

import (
	"fmt"
	"sort"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// Disk is the simulated disk of one replica: core.Storage for the replica, Tick and Crash
// for the driver. It is not safe for concurrent use: one world, one goroutine.
type Disk struct {
	// OnFault, when set, hears every fault as it happens (during Tick or Crash), for the
	// trace. It must not call the disk.
	OnFault func(Fault)

	layout  core.Layout
	options Options
	rand    *entropy.Rand
	atlas   *Atlas
	replica int

	now      uint64 // ticks fed so far
	seq      uint64 // operations issued so far
	queue    queue
	inflight map[core.IO]bool // the identities of the operations in queue, looked up only
	// delivering is true during Tick's callbacks: Tick does not nest in them.
	delivering bool

	sectors sectors
	buffer  []byte   // a read's bytes, valid during its completion callback
	spare   [][]byte // buffers of completed writes, for the next writes to copy into

	stats Stats
}

var _ core.Storage = (*Disk)(nil)

// spareMax bounds the write buffers kept for reuse.
const spareMax = 64

// Completion is the end of one read or write. Data is a read's bytes, valid only during
// the callback that receives it: the buffer is reused. A read that met an unreadable
// sector completes with Error and no Data. A write always completes without error: a
// misdirected write succeeds, elsewhere.
type Completion struct {
	ID    core.IO
	Write bool
	Data  []byte
	Error bool
}

// New returns an empty disk (every sector zeros) of the layout, for the replica of that
// index in the atlas. The options must be valid and the atlas drawn for this layout.
func New(layout core.Layout, options Options, rand *entropy.Rand, atlas *Atlas, replica int) *Disk {
	if err := options.Validate(); err != nil {
		panic(fmt.Sprintf("simstorage: %v", err))
	}
	if atlas == nil || atlas.layout != layout {
		panic("simstorage: a disk needs the atlas drawn for its layout")
	}
	if replica < 0 || replica >= atlas.replicas {
		panic(fmt.Sprintf("simstorage: disk of replica %d in an atlas of %d", replica, atlas.replicas))
	}
	assert(rand != nil)
	return &Disk{layout: layout, options: options, rand: rand, atlas: atlas, replica: replica,
		inflight: map[core.IO]bool{}, sectors: newSectors()}
}

// Options returns the knobs in force.
func (d *Disk) Options() Options { return d.options }

// Stats returns the counts so far.
func (d *Disk) Stats() Stats {
	s := d.stats
	// Each misdirect and crash fault is one operation's: never more than were issued.
	assert(s.MisdirectedWrites+s.TornWrites+s.LostWrites <= s.Writes)
	assert(s.MisdirectedReads <= s.Reads)
	return s
}

// InFlight counts the operations issued and not yet completed.
func (d *Disk) InFlight() int {
	assert(len(d.inflight) == d.queue.len())
	return d.queue.len()
}

// WritesInFlight counts the writes issued and not yet completed: what a crash now would
// tear or lose. The scheduler crashes a replica more often while it has some.
func (d *Disk) WritesInFlight() int {
	n := 0
	for i := range d.queue.heap {
		if d.queue.heap[i].write {
			n++
		}
	}
	assert(n <= d.InFlight())
	return n
}

// StoredSectors counts the sectors that hold written bytes: what the disk costs.
func (d *Disk) StoredSectors() int {
	n := d.sectors.stored()
	assert(n >= 0)
	return n
}

// Bytes is the memory the disk's contents take: what its written sectors hold, trailing
// zeros not counted (a short prepare padded to a sector costs its own length).
func (d *Disk) Bytes() uint64 { return d.sectors.storedBytes() }

// Read asks for size bytes at offset of a zone (core.Storage). Bytes are read when the
// read completes: a write that completes first is seen, one still in flight is not.
func (d *Disk) Read(id core.IO, zone core.Zone, offset uint64, size int) {
	if size <= 0 {
		panic(fmt.Sprintf("simstorage: read %d of %d bytes at offset %d of zone %v: want at least a sector",
			id, size, offset, zone))
	}
	first, count := d.extent("read", id, zone, offset, uint64(size))
	assert(count*core.SectorSize == uint64(size))
	d.stats.Reads++
	latency := d.rand.ExpTicks(d.options.ReadLatencyMinTicks, d.options.ReadLatencyMeanTicks)
	d.issue(operation{id: id, zone: zone, first: first, sectors: count}, latency)
}

// Write asks for data to be written at offset of a zone (core.Storage), and copies it
// before returning. The bytes land when the write completes, and not before: a crash
// before that tears or loses it. Overlapping writes in flight land in completion order.
func (d *Disk) Write(id core.IO, zone core.Zone, offset uint64, data []byte) {
	if len(data) == 0 {
		panic(fmt.Sprintf("simstorage: write %d of no bytes at offset %d of zone %v", id, offset, zone))
	}
	first, count := d.extent("write", id, zone, offset, uint64(len(data)))
	assert(count*core.SectorSize == uint64(len(data)))
	d.stats.Writes++
	latency := d.rand.ExpTicks(d.options.WriteLatencyMinTicks, d.options.WriteLatencyMeanTicks)
	d.issue(operation{id: id, write: true, zone: zone, first: first, sectors: count,
		data: append(d.writeBuffer(len(data)), data...)}, latency)
}

// extent checks an operation's place, which the replica must get right (a violation is
// its bug, so it panics with the facts), and returns its first sector and sector count.
func (d *Disk) extent(what string, id core.IO, zone core.Zone, offset, size uint64) (uint64, uint64) {
	if zone < core.ZoneRoot || int(zone) >= len(d.layout) {
		panic(fmt.Sprintf("simstorage: %s %d in no zone (%v)", what, id, zone))
	}
	sectors := d.layout[zone].Sectors
	switch {
	case id == 0:
		panic(fmt.Sprintf("simstorage: %s with IO 0, which is never an IO's identity", what))
	case d.inflight[id]:
		panic(fmt.Sprintf("simstorage: %s %d: that IO is still in flight", what, id))
	case offset%core.SectorSize != 0 || size%core.SectorSize != 0:
		panic(fmt.Sprintf("simstorage: %s %d of %d bytes at offset %d of zone %v: not whole sectors",
			what, id, size, offset, zone))
	case offset/core.SectorSize >= sectors || size/core.SectorSize > sectors-offset/core.SectorSize:
		panic(fmt.Sprintf("simstorage: %s %d of %d bytes at offset %d of zone %v, which has %d bytes",
			what, id, size, offset, zone, sectors*core.SectorSize))
	}
	return offset / core.SectorSize, size / core.SectorSize
}

// issue queues an operation to complete latency ticks from now, at least one.
func (d *Disk) issue(o operation, latency uint64) {
	assert(!d.inflight[o.id])
	assert(o.first+o.sectors <= d.layout[o.zone].Sectors)
	d.seq++
	o.seq = d.seq
	o.due = d.now + max(latency, 1)
	d.inflight[o.id] = true
	d.queue.push(o)
	assert(d.queue.len() == len(d.inflight)) // identities in flight are unique
}

// writeBuffer returns an empty buffer of capacity n for a write to copy into.
func (d *Disk) writeBuffer(n int) []byte {
	assert(n > 0 && len(d.spare) <= spareMax)
	if last := len(d.spare) - 1; last >= 0 && cap(d.spare[last]) >= n {
		b := d.spare[last]
		d.spare = d.spare[:last]
		assert(cap(b) >= n)
		return b[:0]
	}
	return make([]byte, 0, n)
}

// recycle keeps a completed write's buffer for a later write.
func (d *Disk) recycle(b []byte) {
	assert(cap(b) > 0 && len(d.spare) <= spareMax)
	if len(d.spare) < spareMax {
		d.spare = append(d.spare, b[:0])
	}
}

// Tick advances the disk's time by one tick and completes, through deliver, every
// operation due by then: by due tick, then in issue order. deliver may issue reads and
// writes (they complete at a later tick) and may Crash the disk (what was still due at
// this tick is then in flight at the crash), but not Tick. A paused disk is one whose
// driver stops calling Tick.
func (d *Disk) Tick(deliver func(Completion)) {
	assert(deliver != nil)
	if d.delivering {
		panic("simstorage: Tick called from inside a completion")
	}
	d.now++
	d.delivering = true
	due := d.queue.len()
	for done := 0; d.queue.len() > 0 && d.queue.top().due <= d.now; done++ {
		// What deliver issues is due later: the loop ends within the operations queued now.
		assert(done < due)
		o := d.queue.pop()
		assert(o.due == d.now) // every tick is fed: nothing is ever overdue
		delete(d.inflight, o.id)
		if o.write {
			d.completeWrite(&o, deliver)
		} else {
			d.completeRead(&o, deliver)
		}
	}
	d.delivering = false
	assert(d.queue.len() == 0 || d.queue.top().due > d.now) // nothing due is left behind
}

// completeWrite lands a write's bytes (where a misdirect sends them), then lets them rot.
func (d *Disk) completeWrite(o *operation, deliver func(Completion)) {
	assert(o.write && uint64(len(o.data)) == o.sectors*core.SectorSize)
	// Out of flight before the replica hears: it may reuse the identity in its callback.
	assert(!d.inflight[o.id])
	landed := d.misdirectWrite(o)
	assert(landed+o.sectors <= d.layout[o.zone].Sectors)
	d.sectors.write(o.zone, landed, o.data)
	d.rot(o.zone, landed, o.sectors)
	d.recycle(o.data)
	deliver(Completion{ID: o.id, Write: true})
}

// completeRead lets the sectors asked for rot or fail, then reads them (or, misdirected,
// others) as they now are.
func (d *Disk) completeRead(o *operation, deliver func(Completion)) {
	assert(!o.write && o.data == nil)
	assert(!d.inflight[o.id])
	d.rot(o.zone, o.first, o.sectors)
	d.failRead(o.zone, o.first, o.sectors)
	source := d.misdirectRead(o)
	size := int(o.sectors) * core.SectorSize
	if cap(d.buffer) < size {
		d.buffer = make([]byte, size)
	}
	data := d.buffer[:size]
	assert(source+o.sectors <= d.layout[o.zone].Sectors)
	if !d.sectors.read(o.zone, source, data) {
		deliver(Completion{ID: o.id, Error: true})
		return
	}
	deliver(Completion{ID: o.id, Data: data})
}

// Crash is a power loss: every write in flight is torn (with TornWriteProbability) or
// lost, in issue order; reads in flight are dropped. Completed writes are durable and
// stay. The disk keeps its contents and its faults, and serves the restarted replica.
// Called from a completion callback, it ends that Tick: nothing more is delivered.
func (d *Disk) Crash() {
	pending := d.queue.heap
	sort.Slice(pending, func(i, j int) bool { return pending[i].seq < pending[j].seq })
	for i := range pending {
		o := &pending[i]
		assert(d.inflight[o.id])
		// Tick delivered everything due, unless it is delivering now.
		assert(o.due > d.now || (d.delivering && o.due == d.now))
		if !o.write {
			continue
		}
		if d.rand.Chance(d.options.TornWriteProbability) {
			d.tear(o)
		} else {
			d.stats.LostWrites++
			d.report(Fault{Kind: FaultLostWrite, Zone: o.zone, Sector: o.first, Sectors: o.sectors})
		}
		d.recycle(o.data)
		*o = operation{}
	}
	d.queue.heap = pending[:0]
	clear(d.inflight)
	assert(d.InFlight() == 0)
	d.Stats() // asserts the counts

}

// Heal ends the faults the atlas governs for good: no sector rots, fails or is misdirected
// any more. Sectors already rotten or unreadable stay so until rewritten (the replica
// repairs them), and a crash still tears writes in flight. The liveness phase calls it.
func (d *Disk) Heal() {
	o := &d.options
	o.BitRotProbability = entropy.Never
	o.ReadErrorProbability = entropy.Never
	o.MisdirectWriteProbability = entropy.Never
	o.MisdirectReadProbability = entropy.Never
	assert(o.Validate() == nil)
}
