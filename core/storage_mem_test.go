package core

import (
	"fmt"
	"testing"
)

// memStorage is the core tests' Storage: an in-memory disk whose writes land when the test
// (or the harness, at the end of every step) completes them, never from inside Write.
// With delay 0 (the harness's default) a write issued in a step completes at the end of
// that step, with what its completion issues in turn; with withhold set nothing completes
// until the test releases it.
type memStorage struct {
	pending  []memIO // issued and not completed, in issue order
	delay    int     // steps a write waits before it completes
	withhold bool    // hold every completion until released
	sectors  map[memSector][]byte
	events   []memEvent // every issue and completion, in order
	// misdirect, when set, is asked where each write lands: it returns the sector offset
	// (of the same zone) that receives the bytes, and the write completes as if it landed
	// where it was asked to.
	misdirect   func(zone Zone, offset uint64) uint64
	misdirected int // writes that landed elsewhere
	// failRead, when set, makes a read fail (a latent sector error).
	failRead func(zone Zone, offset uint64) bool
	// misread, when set, is asked where each read reads from (a misdirected read returns
	// another place's bytes of the same zone).
	misread func(zone Zone, offset uint64) uint64
}

type memIO struct {
	id     IO
	read   bool
	zone   Zone
	offset uint64
	size   int    // a read's
	data   []byte // a write's
	wait   int    // steps left before it completes
}

type memSector struct {
	zone   Zone
	sector uint64
}

// memEvent is an issue or a completion of a write, for tests of their order.
type memEvent struct {
	done   bool
	read   bool
	id     IO
	zone   Zone
	offset uint64
}

func (e memEvent) String() string {
	what := "issue"
	if e.done {
		what = "done"
	}
	if e.read {
		what += " read"
	}
	return fmt.Sprintf("%s %v@%d", what, e.zone, e.offset/SectorSize)
}

func newMemStorage() *memStorage { return &memStorage{sectors: map[memSector][]byte{}} }

func (s *memStorage) Read(id IO, zone Zone, offset uint64, size int) {
	if id == 0 || offset%SectorSize != 0 || size <= 0 || size%SectorSize != 0 {
		panic(fmt.Sprintf("memStorage: read %d of %d bytes at %d of %v", id, size, offset, zone))
	}
	s.checkFree(id)
	s.pending = append(s.pending, memIO{id: id, read: true, zone: zone, offset: offset, size: size,
		wait: s.delay})
	s.events = append(s.events, memEvent{read: true, id: id, zone: zone, offset: offset})
}

func (s *memStorage) checkFree(id IO) {
	for i := range s.pending {
		if s.pending[i].id == id {
			panic(fmt.Sprintf("memStorage: IO %d is in flight", id))
		}
	}
}

// complete lands a write, or reads, and reports the completion to r.
func (s *memStorage) complete(r *Replica, io memIO) {
	if !io.read {
		s.land(io)
		r.Completed(io.id, true, nil, false)
		return
	}
	s.events = append(s.events, memEvent{done: true, read: true, id: io.id, zone: io.zone, offset: io.offset})
	if s.failRead != nil && s.failRead(io.zone, io.offset) {
		r.Completed(io.id, false, nil, true)
		return
	}
	from := io.offset
	if s.misread != nil {
		from = s.misread(io.zone, io.offset)
	}
	data := make([]byte, io.size)
	for k := 0; k < io.size/SectorSize; k++ {
		copy(data[k*SectorSize:], s.sector(io.zone, from/SectorSize+uint64(k)))
	}
	r.Completed(io.id, false, data, false)
}

func (s *memStorage) Write(id IO, zone Zone, offset uint64, data []byte) {
	if id == 0 || offset%SectorSize != 0 || len(data) == 0 || len(data)%SectorSize != 0 {
		panic(fmt.Sprintf("memStorage: write %d of %d bytes at %d of %v", id, len(data), offset, zone))
	}
	s.checkFree(id)
	s.pending = append(s.pending, memIO{id: id, zone: zone, offset: offset,
		data: append([]byte(nil), data...), wait: s.delay})
	s.events = append(s.events, memEvent{id: id, zone: zone, offset: offset})
}

// step completes, in issue order, every write whose delay is over, round after round (a
// completion may issue another write), and ages the others by a step. It returns how many
// completed.
func (s *memStorage) step(r *Replica) int {
	if s.withhold || r == nil {
		return 0
	}
	done := 0
	for round := 0; ; round++ {
		if round > 1000 {
			panic("memStorage: writes keep issuing writes")
		}
		var due []memIO
		kept := s.pending[:0]
		for _, io := range s.pending {
			if io.wait <= 0 {
				due = append(due, io)
			} else {
				kept = append(kept, io)
			}
		}
		s.pending = kept
		if len(due) == 0 {
			break
		}
		for _, io := range due {
			s.complete(r, io)
			done++
		}
	}
	for i := range s.pending {
		s.pending[i].wait--
	}
	return done
}

// release stops withholding and completes everything, round after round.
func (s *memStorage) release(r *Replica) int {
	s.withhold = false
	delay := s.delay
	s.delay = 0
	for i := range s.pending {
		s.pending[i].wait = 0
	}
	done := s.step(r)
	s.delay = delay
	return done
}

func (s *memStorage) land(io memIO) {
	at := io.offset
	if s.misdirect != nil {
		at = s.misdirect(io.zone, io.offset)
		if at != io.offset {
			s.misdirected++
		}
	}
	for k := 0; k < len(io.data)/SectorSize; k++ {
		sector := memSector{zone: io.zone, sector: at/SectorSize + uint64(k)}
		s.sectors[sector] = io.data[k*SectorSize : (k+1)*SectorSize]
	}
	s.events = append(s.events, memEvent{done: true, id: io.id, zone: io.zone, offset: io.offset})
}

// completeNext completes the oldest write in flight, withheld or not, and returns it.
func (s *memStorage) completeNext(r *Replica) memEvent {
	if len(s.pending) == 0 {
		panic("memStorage: nothing in flight")
	}
	io := s.pending[0]
	s.pending = s.pending[1:]
	mark := len(s.events)
	s.complete(r, io)
	return s.events[mark]
}

// crash loses the writes in flight.
func (s *memStorage) crash() { s.pending = nil }

// sector returns what a sector holds, nil if never written.
func (s *memStorage) sector(zone Zone, sector uint64) []byte {
	return s.sectors[memSector{zone: zone, sector: sector}]
}

func TestMemStorageCompletesOutsideWrite(t *testing.T) {
	s := newMemStorage()
	s.Write(1, ZoneRoot, 0, make([]byte, SectorSize))
	if len(s.pending) != 1 || s.sector(ZoneRoot, 0) != nil {
		t.Fatalf("a write landed before it completed")
	}
}
