package simstorage

import (
	"encoding/binary"
	"fmt"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// FaultKind names a fault; its String is the fault's counter in Stats' JSON.
type FaultKind uint8

const (
	FaultBitRot           FaultKind = iota + 1 // a sector turned rotten
	FaultReadError                             // a sector turned unreadable
	FaultMisdirectedWrite                      // a write landed at Target instead
	FaultMisdirectedRead                       // a read returned Target's bytes instead
	FaultTornWrite                             // a write in flight at a crash, partly landed
	FaultLostWrite                             // a write in flight at a crash, not landed at all
)

var faultKindNames = [...]string{"", "bit_rot", "read_errors", "misdirected_writes",
	"misdirected_reads", "torn_writes", "lost_writes"}

func (k FaultKind) String() string {
	if int(k) < len(faultKindNames) && k != 0 {
		return faultKindNames[k]
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// Fault is one fault, for the trace: sectors [Sector, Sector+Sectors) of Zone were hit
// (bit rot and read errors hit one sector). A misdirect names, in Target, the first sector
// of where the operation went instead.
type Fault struct {
	Kind    FaultKind
	Zone    core.Zone
	Sector  uint64
	Sectors uint64
	Target  uint64
}

// String renders a fault on one stable line.
func (f Fault) String() string {
	switch f.Kind {
	case FaultMisdirectedWrite, FaultMisdirectedRead:
		return fmt.Sprintf("%v zone=%v sector=%d sectors=%d target=%d", f.Kind, f.Zone, f.Sector, f.Sectors, f.Target)
	}
	return fmt.Sprintf("%v zone=%v sector=%d sectors=%d", f.Kind, f.Zone, f.Sector, f.Sectors)
}

func (d *Disk) report(f Fault) {
	assert(f.Kind >= FaultBitRot && f.Kind <= FaultLostWrite)
	assert(f.Sectors > 0 && f.Sector+f.Sectors <= d.layout[f.Zone].Sectors)
	if d.OnFault != nil {
		d.OnFault(f)
	}
}

// faultedSector draws whether a sticky fault of probability p strikes an operation over
// count sectors from first, and if so which of the sectors the atlas allows it strikes.
// No draw at all when p is zero or no sector is allowed.
func (d *Disk) faultedSector(p entropy.Ratio, zone core.Zone, first, count uint64) (uint64, bool) {
	if p.IsZero() {
		return 0, false
	}
	allowed := d.allowedIn(zone, first, count)
	if allowed == 0 || !d.rand.Chance(p) {
		return 0, false
	}
	index := d.allowedAt(zone, first, count, d.rand.IntN(allowed))
	assert(index >= first && index < first+count)
	assert(d.atlas.Allows(d.replica, zone, index))
	return index, true
}

// rot: with BitRotProbability, one of the allowed sectors of an operation turns rotten,
// one bit flipped for every read until it is rewritten. A rotten sector stays as it is.
func (d *Disk) rot(zone core.Zone, first, count uint64) {
	index, ok := d.faultedSector(d.options.BitRotProbability, zone, first, count)
	if !ok {
		return
	}
	f := d.sectors.fault(zone, index)
	if f.rotten {
		return
	}
	f.rotten, f.rotBit = true, uint16(d.rand.IntN(core.SectorSize*8))
	d.sectors.setFault(zone, index, f)
	d.stats.BitRot++
	d.report(Fault{Kind: FaultBitRot, Zone: zone, Sector: index, Sectors: 1})
}

// failRead: with ReadErrorProbability, one of the allowed sectors a read touches turns
// unreadable (a latent sector error) until it is rewritten.
func (d *Disk) failRead(zone core.Zone, first, count uint64) {
	index, ok := d.faultedSector(d.options.ReadErrorProbability, zone, first, count)
	if !ok {
		return
	}
	f := d.sectors.fault(zone, index)
	if f.unreadable {
		return
	}
	f.unreadable = true
	d.sectors.setFault(zone, index, f)
	d.stats.ReadErrors++
	d.report(Fault{Kind: FaultReadError, Zone: zone, Sector: index, Sectors: 1})
}

// misdirectWrite returns where a write lands: with MisdirectWriteProbability, elsewhere in
// its zone. A misdirected write faults two places, the one it missed (stale) and the one
// it hit (overwritten), so the atlas must allow both.
func (d *Disk) misdirectWrite(o *operation) uint64 {
	p := d.options.MisdirectWriteProbability
	if p.IsZero() || d.allowedIn(o.zone, o.first, o.sectors) != o.sectors || !d.rand.Chance(p) {
		return o.first
	}
	target, ok := d.misdirectTarget(o.zone, o.first, o.sectors, true)
	if !ok {
		return o.first
	}
	// Both places are the atlas's to spoil, and they are apart: the intended sectors keep
	// their old bytes whole.
	assert(target != o.first && d.allowedIn(o.zone, target, o.sectors) == o.sectors)
	assert(overlap(o.first, o.sectors, target, o.sectors) == 0)
	d.stats.MisdirectedWrites++
	d.report(Fault{Kind: FaultMisdirectedWrite, Zone: o.zone, Sector: o.first, Sectors: o.sectors, Target: target})
	return target
}

// misdirectRead returns where a read reads: with MisdirectReadProbability, elsewhere in
// its zone. Only the read is wrong, so only the sectors it asked for must be allowed.
func (d *Disk) misdirectRead(o *operation) uint64 {
	p := d.options.MisdirectReadProbability
	if p.IsZero() || d.allowedIn(o.zone, o.first, o.sectors) != o.sectors || !d.rand.Chance(p) {
		return o.first
	}
	target, ok := d.misdirectTarget(o.zone, o.first, o.sectors, false)
	if !ok {
		return o.first
	}
	assert(target != o.first && target+o.sectors <= d.layout[o.zone].Sectors)
	assert(overlap(o.first, o.sectors, target, o.sectors) == 0)
	d.stats.MisdirectedReads++
	d.report(Fault{Kind: FaultMisdirectedRead, Zone: o.zone, Sector: o.first, Sectors: o.sectors, Target: target})
	return target
}

// misdirectTriesMax bounds the places drawn for a misdirect before it is given up.
const misdirectTriesMax = 4

// misdirectTarget draws where a misdirected operation goes: the same place in another
// chunk of the zone (a slot's offset error, as a real misdirect does to a journal), or,
// for an operation across chunks or in a zone of one chunk, any other place of the zone it
// does not overlap. With allowed, the place must be open to this replica in the atlas.
func (d *Disk) misdirectTarget(zone core.Zone, first, count uint64, allowed bool) (uint64, bool) {
	z := d.layout[zone]
	assert(count > 0 && first+count <= z.Sectors)
	chunk, within, chunks := first/z.ChunkSectors, first%z.ChunkSectors, z.Sectors/z.ChunkSectors
	for try := 0; try < misdirectTriesMax; try++ {
		var target uint64
		switch {
		case within+count <= z.ChunkSectors && chunks > 1:
			other := d.rand.IntN(chunks - 1)
			if other >= chunk {
				other++
			}
			target = other*z.ChunkSectors + within
			assert(target%z.ChunkSectors == within && target/z.ChunkSectors != chunk)
		case z.Sectors-count >= 1:
			target = d.rand.IntN(z.Sectors - count) // a start in [0, Sectors−count], not first
			if target >= first {
				target++
			}
		default:
			return 0, false // the operation covers the whole zone
		}
		assert(target != first && target+count <= z.Sectors)
		overlaps := target < first+count && first < target+count
		if !overlaps && (!allowed || d.allowedIn(zone, target, count) == count) {
			return target, true
		}
	}
	return 0, false
}

// tear lands a write in flight at a crash only in part, ignoring the atlas: some of its
// sectors new, the others old, and possibly one garbage. A one-sector write tears into
// garbage. A torn write is never all new nor all old.
func (d *Disk) tear(o *operation) {
	const (
		keepOld = iota
		landNew
		garbage
	)
	assert(o.write && d.inflight[o.id])
	assert(uint64(len(o.data)) == o.sectors*core.SectorSize)
	state := make([]uint8, o.sectors)
	if o.sectors == 1 {
		state[0] = garbage
	} else {
		news := 0
		for i := range state {
			if d.rand.Bool() {
				state[i] = landNew
				news++
			}
		}
		if news == 0 || news == len(state) {
			i := d.rand.IntN(o.sectors)
			state[i] = landNew - state[i] // flip one: a mix of new and old
		}
		if d.rand.Bool() {
			state[d.rand.IntN(o.sectors)] = garbage
		}
	}
	var junk []byte
	var landed, kept int
	for i, s := range state {
		bytes := o.data[i*core.SectorSize : (i+1)*core.SectorSize]
		switch s {
		case keepOld:
			kept++
		case landNew:
			landed++
			d.sectors.write(o.zone, o.first+uint64(i), bytes)
		case garbage:
			junk = d.garbage(junk)
			d.sectors.write(o.zone, o.first+uint64(i), junk)
		}
	}
	// Torn, not lost nor whole: never all new, never all old.
	assert(landed < len(state) && kept < len(state))
	assert(o.sectors > 1 || state[0] == garbage)
	d.stats.TornWrites++
	d.report(Fault{Kind: FaultTornWrite, Zone: o.zone, Sector: o.first, Sectors: o.sectors})
}

// garbage fills a sector with what a half-written sector holds: noise from one draw.
func (d *Disk) garbage(buffer []byte) []byte {
	if buffer == nil {
		buffer = make([]byte, core.SectorSize)
	}
	assert(len(buffer) == core.SectorSize)
	x := d.rand.Uint64()
	for i := 0; i < core.SectorSize; i += 8 {
		x += golden
		binary.LittleEndian.PutUint64(buffer[i:], mix64(x))
	}
	return buffer
}

// allowedIn counts the sectors of [first, first+count) of a zone the atlas opens to this
// disk's replica.
func (d *Disk) allowedIn(zone core.Zone, first, count uint64) uint64 {
	if d.atlas.faultsMax == 0 {
		return 0
	}
	z := d.layout[zone]
	assert(count > 0 && first+count <= z.Sectors)
	var allowed uint64
	for chunk := first / z.ChunkSectors; chunk*z.ChunkSectors < first+count; chunk++ {
		if d.atlas.allowsChunk(d.replica, zone, chunk) {
			allowed += overlap(first, count, chunk*z.ChunkSectors, z.ChunkSectors)
		}
	}
	assert(allowed <= count)
	return allowed
}

// allowedAt is the sector of [first, first+count) that is the nth (from zero) allowed one.
func (d *Disk) allowedAt(zone core.Zone, first, count, nth uint64) uint64 {
	z := d.layout[zone]
	assert(d.atlas.faultsMax > 0)
	assert(nth < count && first+count <= z.Sectors)
	for chunk := first / z.ChunkSectors; chunk*z.ChunkSectors < first+count; chunk++ {
		if !d.atlas.allowsChunk(d.replica, zone, chunk) {
			continue
		}
		start := max(first, chunk*z.ChunkSectors)
		n := overlap(first, count, chunk*z.ChunkSectors, z.ChunkSectors)
		if nth < n {
			return start + nth
		}
		nth -= n
	}
	panic(fmt.Sprintf("simstorage: fewer allowed sectors in zone %v [%d, +%d) than counted", zone, first, count))
}

// overlap is the length of [a, a+m) ∩ [b, b+n).
func overlap(a, m, b, n uint64) uint64 {
	start, end := max(a, b), min(a+m, b+n)
	if end <= start {
		return 0
	}
	assert(end-start <= m && end-start <= n)
	return end - start
}
