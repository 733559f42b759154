package simstorage

import "github.com/vsrsim/vsrsim/core"

// sectorsMax bounds a zone, so that a (zone, sector) pair packs into one map key.
const sectorsMax = 1 << 56

// sector is the pristine bytes of one written sector: what was last written there. Faults
// live beside it (sectorFault), never in it, so that what a read should have seen is
// always known.
type sector [core.SectorSize]byte

// sectorFault is the sticky fault state of a sector, until the sector is rewritten.
type sectorFault struct {
	rotten     bool
	rotBit     uint16 // rotten: the bit every read sees flipped, < SectorSize·8
	unreadable bool   // every read touching the sector fails
}

// sectors is a disk's contents, sparse: a disk costs what was written to it (and the
// faults of sectors never written), however large its zones. Unwritten sectors read as
// zeros. Both maps are only ever looked up, never ranged over, so their order cannot reach
// a run's outcome.
type sectors struct {
	data   map[uint64]*sector
	faults map[uint64]sectorFault
}

func newSectors() sectors {
	return sectors{data: map[uint64]*sector{}, faults: map[uint64]sectorFault{}}
}

// key packs a zone and a sector into one word.
func key(zone core.Zone, index uint64) uint64 {
	assert(index < sectorsMax)
	assert(zone >= core.ZoneRoot)
	return uint64(zone)<<56 | index
}

// write stores whole sectors from first on, and heals their faults: a rewritten sector
// holds exactly the new bytes.
func (s *sectors) write(zone core.Zone, first uint64, data []byte) {
	assert(len(data) > 0 && len(data)%core.SectorSize == 0)
	for i := 0; i*core.SectorSize < len(data); i++ {
		k := key(zone, first+uint64(i))
		stored := s.data[k]
		if stored == nil {
			stored = new(sector)
			s.data[k] = stored
		}
		n := copy(stored[:], data[i*core.SectorSize:])
		assert(n == core.SectorSize)
		if len(s.faults) > 0 {
			delete(s.faults, k)
		}
	}
}

// read copies len(buffer)/SectorSize sectors from first on into buffer, as a read sees
// them: rotten sectors with their bit flipped. It reports false, with buffer unspecified,
// when a sector is unreadable.
func (s *sectors) read(zone core.Zone, first uint64, buffer []byte) bool {
	assert(len(buffer) > 0 && len(buffer)%core.SectorSize == 0)
	for i := 0; i*core.SectorSize < len(buffer); i++ {
		k := key(zone, first+uint64(i))
		out := buffer[i*core.SectorSize : (i+1)*core.SectorSize]
		if stored := s.data[k]; stored != nil {
			copy(out, stored[:])
		} else {
			clear(out)
		}
		if len(s.faults) == 0 {
			continue
		}
		if f, ok := s.faults[k]; ok {
			if f.unreadable {
				return false
			}
			assert(f.rotten && int(f.rotBit) < core.SectorSize*8)
			out[f.rotBit/8] ^= 1 << (f.rotBit % 8)
		}
	}
	return true
}

// pristine is a sector's bytes as last written (nil: never written, zeros).
func (s *sectors) pristine(zone core.Zone, index uint64) *sector {
	return s.data[key(zone, index)]
}

func (s *sectors) fault(zone core.Zone, index uint64) sectorFault {
	if len(s.faults) == 0 {
		return sectorFault{}
	}
	f, ok := s.faults[key(zone, index)]
	// Only faulty sectors have an entry.
	assert(!ok || f.rotten || f.unreadable)
	assert(!f.rotten || int(f.rotBit) < core.SectorSize*8)
	return f
}

// setFault records a sector's fault state; a sector with none has no entry.
func (s *sectors) setFault(zone core.Zone, index uint64, f sectorFault) {
	assert(!f.rotten || int(f.rotBit) < core.SectorSize*8)
	assert(f.rotten || f.rotBit == 0)
	if f == (sectorFault{}) {
		delete(s.faults, key(zone, index))
		return
	}
	s.faults[key(zone, index)] = f
}

// stored counts the sectors that hold written bytes.
func (s *sectors) stored() int {
	assert(len(s.data) >= 0)
	return len(s.data)
}
