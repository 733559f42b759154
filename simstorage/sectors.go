package simstorage

import (
	"encoding/binary"

	"github.com/vsrsim/vsrsim/core"
)

// sectorsMax bounds a zone, so that a (zone, sector) pair packs into one map key.
const sectorsMax = 1 << 56

// A sector's pristine bytes are what was last written there, stored without their trailing
// zeros: a journal's prepares and headers fill a fraction of their sectors, and a disk
// should cost what it holds, not what its sectors could (a 200-byte prepare costs 200
// bytes, not 4 KiB). Faults live beside them (sectorFault), never in them, so that what a
// read should have seen is always known.

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
	data   map[uint64][]byte // trimmed of trailing zeros; a written sector of zeros is empty
	faults map[uint64]sectorFault
	bytes  uint64 // the stored bytes of data, summed
}

func newSectors() sectors {
	return sectors{data: map[uint64][]byte{}, faults: map[uint64]sectorFault{}}
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
		in := data[i*core.SectorSize : (i+1)*core.SectorSize]
		end := trimmed(in)
		old := s.data[k]
		s.bytes -= uint64(len(old))
		// Nothing keeps a stored slice but the map (reads and pristine copy out of it), so a
		// rewrite reuses it, allocating only to grow it.
		stored := append(old[:0], in[:end]...)
		s.data[k] = stored
		s.bytes += uint64(end)
		assert(len(stored) == end && len(stored) <= core.SectorSize)
		if len(s.faults) > 0 {
			delete(s.faults, k)
		}
	}
}

// trimmed is the length of b without its trailing zeros, found a word at a time: a short
// prepare padded to a sector is mostly zeros, and this runs for every sector written.
func trimmed(b []byte) int {
	end := len(b)
	for end >= 8 && binary.LittleEndian.Uint64(b[end-8:]) == 0 {
		end -= 8
	}
	for end > 0 && b[end-1] == 0 {
		end--
	}
	assert(end == len(b) || b[end] == 0)
	return end
}

// read copies len(buffer)/SectorSize sectors from first on into buffer, as a read sees
// them: rotten sectors with their bit flipped. It reports false, with buffer unspecified,
// when a sector is unreadable.
func (s *sectors) read(zone core.Zone, first uint64, buffer []byte) bool {
	assert(len(buffer) > 0 && len(buffer)%core.SectorSize == 0)
	for i := 0; i*core.SectorSize < len(buffer); i++ {
		k := key(zone, first+uint64(i))
		out := buffer[i*core.SectorSize : (i+1)*core.SectorSize]
		n := copy(out, s.data[k])
		clear(out[n:])
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

// pristine is a sector's bytes as last written, whole (zeros if never written).
func (s *sectors) pristine(zone core.Zone, index uint64) []byte {
	out := make([]byte, core.SectorSize)
	n := copy(out, s.data[key(zone, index)])
	assert(n <= core.SectorSize)
	return out
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

// stored counts the sectors that were written.
func (s *sectors) stored() int {
	assert(len(s.data) >= 0)
	return len(s.data)
}

// storedBytes is what the written sectors hold, trailing zeros not counted.
func (s *sectors) storedBytes() uint64 {
	assert(s.bytes <= uint64(len(s.data))*core.SectorSize)
	return s.bytes
}
