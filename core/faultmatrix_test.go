package core

import (
	"fmt"
	"testing"
)

// The fault matrix (Protocol-Aware Recovery's method, applied here): for each replica of a
// cluster of three, each journal place of a small log (every op's prepare slot and the
// header sector holding their headers) and each kind of fault a disk can do to data at
// rest, inject exactly that one fault, crash every replica at once, restart them all from
// their disks, and require that the cluster serves again and that no committed op was lost
// or changed: every replica ends holding and having executed the very prepares committed
// before the crash, and one more request commits.
//
// The faults: bit rot (one bit flipped), a latent sector error (the first read fails), a
// misdirected write (the place holds another place's intact bytes), and a torn write over
// it (garbage). A fault the atlas would never allow on every replica at once is injected on
// one replica only: a quorum always keeps an intact copy.
//
// Shown to fail: with a damaged slot dropped as if torn (BugCorruptAsTorn's line made
// unconditional), the case of a rotten prepare at the head fails (the replica restarts with
// its head unknown).

// matrixOps is the size of the log the matrix faults: a few ops, one header sector.
const matrixOps = 4

type matrixFault int

const (
	matrixRot matrixFault = iota
	matrixReadError
	matrixMisdirect
	matrixGarbage
	matrixFaults
)

func (f matrixFault) String() string {
	return [...]string{"rot", "read-error", "misdirect", "garbage"}[f]
}

// matrixPlace is one faulted place: an op's prepare slot, or (op 0) the header sector.
type matrixPlace struct {
	op Op // 0: the header sector of ops 0..headersPerSector-1
}

func (p matrixPlace) String() string {
	if p.op == 0 {
		return "headers"
	}
	return fmt.Sprintf("prepare-%d", p.op)
}

func TestFaultMatrix(t *testing.T) {
	head := matrixCluster(t).replica(0).journal.op
	assert(head < headersPerSector) // one header sector holds every op of the matrix
	cases, passed := 0, 0
	for replica := 0; replica < 3; replica++ {
		for op := Op(0); op <= head; op++ {
			for fault := matrixFault(0); fault < matrixFaults; fault++ {
				place := matrixPlace{op: op}
				cases++
				ok := t.Run(fmt.Sprintf("r%d/%v/%v", replica, place, fault), func(t *testing.T) {
					faultMatrixCase(t, replica, place, fault)
				})
				if ok {
					passed++
				}
			}
		}
	}
	t.Logf("fault matrix: %d of %d cases recovered with every committed op", passed, cases)
}

// matrixCluster is a cluster of three that committed matrixOps puts (and the client's
// registration), every replica holding and having executed every op.
func matrixCluster(t *testing.T) *harness {
	h := harnessRegistered(t, 3, 1, nil)
	for k := 0; k < matrixOps; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: fmt.Sprintf("k%d", k), Value: "v"}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	return h
}

func faultMatrixCase(t *testing.T, replica int, place matrixPlace, fault matrixFault) {
	h := matrixCluster(t)
	head := h.replica(0).journal.op
	committed := make([]Checksum, head+1)
	for op := Op(1); op <= head; op++ {
		committed[op] = h.replica(0).journal.header(op).Checksum
		for i := 0; i < 3; i++ {
			if r := h.replica(i); r.commitMin < head || r.journal.header(op).Checksum != committed[op] {
				t.Fatalf("before the crash: %s does not hold op %d committed", h.statusLine(i), op)
			}
		}
	}
	for i := 0; i < 3; i++ {
		h.crash(i)
	}
	injectMatrixFault(t, h, replica, place, fault, head)
	for i := 0; i < 3; i++ {
		r := h.reopen(i, false)
		// The fault was seen: the faulted replica read back fewer intact ops than it wrote.
		if intact := r.opened.decisions[slotIntact]; (i == replica) != (intact < int(head)) {
			t.Fatalf("replica %d restarted with %d of %d ops intact (faulted: replica %d)", i, intact,
				head, replica)
		}
	}
	if err := h.submit(1, KVInput{Op: KVPut, Key: "after", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	h.settle(t)
	for i := 0; i < 3; i++ {
		r := h.replica(i)
		if r.commitMin <= head {
			t.Fatalf("after the restart: %s: the request after the crash did not commit", h.statusLine(i))
		}
		for op := Op(1); op <= head; op++ {
			if !r.journal.held(op, committed[op]) && r.journal.header(op).Checksum != committed[op] {
				t.Fatalf("after the restart: %s holds op %d as %v, committed as %v", h.statusLine(i), op,
					r.journal.header(op).Checksum, committed[op])
			}
		}
	}
	digest := h.machines[0].Digest()
	for i := 1; i < 3; i++ {
		if h.replica(i).commitMin == h.replica(0).commitMin && h.machines[i].Digest() != digest {
			t.Fatalf("replicas 0 and %d executed the same ops into different states", i)
		}
	}
}

// injectMatrixFault does one fault to one place of replica i's disk, while it is down.
func injectMatrixFault(t *testing.T, h *harness, i int, place matrixPlace, fault matrixFault, head Op) {
	t.Helper()
	s := h.storages[i]
	zone, sector := ZoneHeaders, uint64(0)
	if place.op > 0 {
		zone, sector = ZonePrepares, uint64(place.op)*h.config.slotSectors()
	}
	b := s.sector(zone, sector)
	if b == nil {
		t.Fatalf("replica %d has nothing at %v to fault", i, place)
	}
	switch fault {
	case matrixRot:
		// Inside the prepare's own header, or op 1's entry of the header sector.
		if place.op > 0 {
			b[HeaderSize/2] ^= 1 << 3
		} else {
			b[HeaderSize+HeaderSize/2] ^= 1 << 3
		}
	case matrixReadError:
		// Unreadable until rewritten: every read covering the sector fails while it holds
		// the bytes faulted (a write lands a new slice).
		s.failRead = func(z Zone, offset uint64) bool {
			now := s.sector(zone, sector)
			at := offset / SectorSize
			covers := at == sector || (zone == ZoneHeaders && at == sector/HeadersMax*HeadersMax)
			return z == zone && covers && len(now) > 0 && &now[0] == &b[0]
		}
	case matrixMisdirect:
		// Another place's bytes, intact: the next op's slot, or for the header sector its
		// entries shifted by one (each entry the header of another op).
		if place.op > 0 {
			other := uint64(place.op%head+1) * h.config.slotSectors()
			copy(b, s.sector(ZonePrepares, other))
		} else {
			shifted := make([]byte, len(b))
			copy(shifted[HeaderSize:], b[:len(b)-HeaderSize])
			copy(b, shifted)
		}
	case matrixGarbage:
		for k := range b {
			b[k] = byte(k*7 + 0xa5)
		}
	}
}
