package simstorage

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

var certain = entropy.Percent(100)

// Bit rot: a sector the atlas allows turns rotten, every read sees the same flipped bit,
// and a rewrite heals it. Not with the knob at zero, not where the atlas forbids.
func TestBitRot(t *testing.T) {
	r := newRig(t, Options{BitRotProbability: certain}, 10, 0)
	slot := r.chunkWhere(core.ZonePrepares, true)
	r.writeNow(core.ZonePrepares, slot, pattern(1, 4))
	rot := r.faultsOf(FaultBitRot)
	if len(rot) != 1 || rot[0].Zone != core.ZonePrepares || rot[0].Sector < slot || rot[0].Sector >= slot+4 {
		t.Fatalf("faults %v: want one bit rot in slot at sector %d", r.faults, slot)
	}
	index := rot[0].Sector - slot
	r.disk.options.BitRotProbability = entropy.Never
	first := r.readNow(core.ZonePrepares, slot, 4).Data
	second := r.readNow(core.ZonePrepares, slot, 4).Data
	for i := uint64(0); i < 4; i++ {
		want := 0
		if i == index {
			want = 1
		}
		if got := bitsDiffer(sectorOf(first, i), sectorOf(pattern(1, 4), i)); got != want {
			t.Fatalf("sector %d of the slot: %d bits flipped, want %d", i, got, want)
		}
	}
	if !bytes.Equal(first, second) {
		t.Fatal("two reads of a rotten sector saw different corruption")
	}
	// Under the fault, the pristine bytes are what was written.
	if p := r.disk.sectors.pristine(core.ZonePrepares, rot[0].Sector); !bytes.Equal(p[:], sectorOf(pattern(1, 4), index)) {
		t.Fatal("bit rot changed the pristine bytes under the fault")
	}
	// Reads rot too, never the same sector twice: four reads of the slot leave each of its
	// sectors rotten at most once.
	r.disk.options.BitRotProbability = certain
	for i := 0; i < 4; i++ {
		r.readNow(core.ZonePrepares, slot, 4)
	}
	rotten := map[uint64]bool{}
	for _, f := range r.faultsOf(FaultBitRot) {
		if rotten[f.Sector] {
			t.Fatalf("sector %d rotted twice without a rewrite", f.Sector)
		}
		rotten[f.Sector] = true
	}
	if s := r.disk.Stats(); s.BitRot != uint64(len(rotten)) || len(rotten) < 2 {
		t.Fatalf("stats %+v, rotten sectors %v: reads at 100%% bit rot must rot more", s, rotten)
	}
	// A rewrite heals: the knob off, the new bytes read back exactly.
	r.disk.options.BitRotProbability = entropy.Never
	r.writeNow(core.ZonePrepares, slot, pattern(2, 4))
	if !bytes.Equal(r.readNow(core.ZonePrepares, slot, 4).Data, pattern(2, 4)) {
		t.Fatal("a rewritten rotten sector does not read back what was written")
	}
	// Forbidden by the atlas, or the knob at zero: never.
	r = newRig(t, Options{BitRotProbability: certain}, 10, 0)
	denied := r.chunkWhere(core.ZonePrepares, false)
	for i := 0; i < 50; i++ {
		r.writeNow(core.ZonePrepares, denied, pattern(uint32(i), 4))
		if !bytes.Equal(r.readNow(core.ZonePrepares, denied, 4).Data, pattern(uint32(i), 4)) || len(r.faults) != 0 {
			t.Fatalf("bit rot where the atlas forbids it: %v", r.faults)
		}
	}
	r = newRig(t, Options{}, 10, 0)
	for i := 0; i < 50; i++ {
		r.writeNow(core.ZonePrepares, slot, pattern(uint32(i), 4))
		if !bytes.Equal(r.readNow(core.ZonePrepares, slot, 4).Data, pattern(uint32(i), 4)) || len(r.faults) != 0 {
			t.Fatalf("bit rot with its probability at zero: %v", r.faults)
		}
	}
}

// A latent sector error: the read fails, and every later one touching the sector, until
// it is rewritten.
func TestReadError(t *testing.T) {
	r := newRig(t, Options{ReadErrorProbability: certain}, 11, 1)
	sector := r.chunkWhere(core.ZoneHeaders, true)
	r.writeNow(core.ZoneHeaders, sector, pattern(1, 1))
	if len(r.faults) != 0 {
		t.Fatalf("a write caused a read error: %v", r.faults)
	}
	if c := r.readNow(core.ZoneHeaders, sector, 1); !c.Error || c.Data != nil {
		t.Fatal("a read of an allowed sector at 100% read errors succeeded")
	}
	r.disk.options.ReadErrorProbability = entropy.Never
	for i := 0; i < 3; i++ {
		if !r.readNow(core.ZoneHeaders, sector, 1).Error {
			t.Fatal("an unreadable sector read back before it was rewritten")
		}
	}
	if f := r.faultsOf(FaultReadError); len(f) != 1 || f[0].Sector != sector || r.disk.Stats().ReadErrors != 1 {
		t.Fatalf("faults %v, stats %+v: want one read error at sector %d", r.faults, r.disk.Stats(), sector)
	}
	// A read touching it among others fails too; a rewrite heals it.
	if sector+1 < 8 && !r.readNow(core.ZoneHeaders, sector, 2).Error {
		t.Fatal("a two-sector read over an unreadable sector succeeded")
	}
	r.writeNow(core.ZoneHeaders, sector, pattern(2, 1))
	if c := r.readNow(core.ZoneHeaders, sector, 1); c.Error || !bytes.Equal(c.Data, pattern(2, 1)) {
		t.Fatal("a rewritten unreadable sector does not read back")
	}
	// Never where the atlas forbids it, nor with the knob at zero.
	r = newRig(t, Options{ReadErrorProbability: certain}, 11, 1)
	denied := r.chunkWhere(core.ZoneHeaders, false)
	r2 := newRig(t, Options{}, 11, 1)
	for i := 0; i < 50; i++ {
		if r.readNow(core.ZoneHeaders, denied, 1).Error || r2.readNow(core.ZoneHeaders, sector, 1).Error {
			t.Fatal("a read error where the atlas forbids it, or with its probability at zero")
		}
	}
	if len(r.faults)+len(r2.faults) != 0 {
		t.Fatalf("faults %v %v", r.faults, r2.faults)
	}
}

// A misdirected write lands at the same place of another allowed slot; the slot it was
// meant for keeps its old bytes, and the write completes as if nothing happened.
func TestMisdirectedWrite(t *testing.T) {
	r := newRig(t, Options{MisdirectWriteProbability: certain}, 12, 2)
	slot := r.chunkWhere(core.ZonePrepares, true)
	last := uint32(0) // the tag of the last write
	for last < 20 && len(r.faults) == 0 {
		last++
		r.writeNow(core.ZonePrepares, slot+1, pattern(last, 2))
	}
	f := r.faultsOf(FaultMisdirectedWrite)
	if len(f) != 1 || f[0].Sector != slot+1 || f[0].Sectors != 2 || r.disk.Stats().MisdirectedWrites != 1 {
		t.Fatalf("faults %v: want a misdirected write of sectors %d and %d", r.faults, slot+1, slot+2)
	}
	target := f[0].Target
	if target%4 != 1 || target == slot+1 || !r.atlas.Allows(2, core.ZonePrepares, target) {
		t.Fatalf("misdirected to sector %d: want offset 1 of another allowed slot", target)
	}
	r.disk.options.MisdirectWriteProbability = entropy.Never
	previous := make([]byte, 2*core.SectorSize) // what the intended sectors held
	if last > 1 {
		previous = pattern(last-1, 2)
	}
	if !bytes.Equal(r.readNow(core.ZonePrepares, target, 2).Data, pattern(last, 2)) ||
		!bytes.Equal(r.readNow(core.ZonePrepares, slot+1, 2).Data, previous) {
		t.Fatal("the misdirected bytes are not at the target, or the intended sectors changed")
	}
	// The root: a replica may fault one copy only, and a misdirect spoils two: never.
	r = newRig(t, Options{MisdirectWriteProbability: certain}, 12, 2)
	for i := uint32(0); i < 200; i++ {
		r.writeNow(core.ZoneRoot, uint64(i%core.RootCopies), pattern(i, 1))
	}
	// Nor where the atlas forbids it, nor with the knob at zero.
	denied := r.chunkWhere(core.ZonePrepares, false)
	r2 := newRig(t, Options{}, 12, 2)
	for i := uint32(0); i < 50; i++ {
		r.writeNow(core.ZonePrepares, denied, pattern(i, 4))
		r2.writeNow(core.ZonePrepares, slot, pattern(i, 4))
	}
	if len(r.faults)+len(r2.faults) != 0 {
		t.Fatalf("misdirected writes in the root, where the atlas forbids, or at zero: %v %v", r.faults, r2.faults)
	}
}

// A misdirected read returns another slot's bytes; where the atlas forbids, never.
func TestMisdirectedRead(t *testing.T) {
	r := newRig(t, Options{}, 13, 0)
	for slot := uint64(0); slot < 16; slot++ {
		r.writeNow(core.ZonePrepares, slot*4, pattern(uint32(slot), 4))
	}
	r.disk.options.MisdirectReadProbability = certain
	allowed, denied := r.chunkWhere(core.ZonePrepares, true), r.chunkWhere(core.ZonePrepares, false)
	got := r.readNow(core.ZonePrepares, allowed, 4).Data
	f := r.faultsOf(FaultMisdirectedRead)
	if len(f) != 1 || f[0].Sector != allowed || f[0].Target%4 != 0 || f[0].Target == allowed {
		t.Fatalf("faults %v: want one misdirected read of slot sector %d", r.faults, allowed)
	}
	if !bytes.Equal(got, pattern(uint32(f[0].Target/4), 4)) || r.disk.Stats().MisdirectedReads != 1 {
		t.Fatal("a misdirected read did not return its target's bytes")
	}
	// The target is not the read's to fault: it may be a slot the atlas forbids. Nothing
	// stays: the next read, with the knob off, sees the slot's own bytes.
	r.disk.options.MisdirectReadProbability = entropy.Never
	if !bytes.Equal(r.readNow(core.ZonePrepares, allowed, 4).Data, pattern(uint32(allowed/4), 4)) {
		t.Fatal("a misdirected read left something behind")
	}
	r.disk.options.MisdirectReadProbability = certain
	for i := 0; i < 50; i++ {
		if !bytes.Equal(r.readNow(core.ZonePrepares, denied, 4).Data, pattern(uint32(denied/4), 4)) {
			t.Fatal("a misdirected read where the atlas forbids it")
		}
	}
	if len(r.faults) != 1 {
		t.Fatalf("faults %v: want only the first misdirected read", r.faults)
	}
}

// At a crash, a torn write leaves its sectors a mix of old and new (one maybe garbage),
// never all new nor all old, wherever the atlas stands: it is physics.
func TestTornWriteMixesOldAndNew(t *testing.T) {
	var sawGarbage, sawNoGarbage, sawDenied bool
	for seed := uint64(0); seed < 40; seed++ {
		r := newRig(t, Options{WriteLatencyMinTicks: 5, TornWriteProbability: certain}, seed, int(seed%3))
		old, fresh := pattern(1, 4), pattern(2, 4)
		r.writeNow(core.ZonePrepares, 8, old)
		r.write(core.ZonePrepares, 8, fresh)
		r.tick()
		r.disk.Crash()
		sawDenied = sawDenied || !r.atlas.Allows(r.replica, core.ZonePrepares, 8)
		f := r.faultsOf(FaultTornWrite)
		if len(f) != 1 || f[0].Sector != 8 || f[0].Sectors != 4 || r.disk.Stats().TornWrites != 1 || r.disk.InFlight() != 0 {
			t.Fatalf("seed %d: faults %v: want one torn write of four sectors", seed, r.faults)
		}
		got := r.readNow(core.ZonePrepares, 8, 4).Data
		var news, olds, junk int
		for i := uint64(0); i < 4; i++ {
			switch s := sectorOf(got, i); {
			case bytes.Equal(s, sectorOf(fresh, i)):
				news++
			case bytes.Equal(s, sectorOf(old, i)):
				olds++
			default:
				junk++
			}
		}
		if news == 4 || olds == 4 || junk > 1 {
			t.Fatalf("seed %d: torn write left %d new, %d old, %d garbage sectors", seed, news, olds, junk)
		}
		sawGarbage, sawNoGarbage = sawGarbage || junk == 1, sawNoGarbage || junk == 0
	}
	if !sawGarbage || !sawNoGarbage || !sawDenied {
		t.Fatalf("garbage seen %v, clean tears seen %v, tears where the atlas forbids %v: want all",
			sawGarbage, sawNoGarbage, sawDenied)
	}
	// One sector tears into garbage.
	r := newRig(t, Options{WriteLatencyMinTicks: 5, TornWriteProbability: certain}, 1, 0)
	r.writeNow(core.ZoneRoot, 2, pattern(1, 1))
	r.write(core.ZoneRoot, 2, pattern(2, 1))
	r.disk.Crash()
	if got := r.readNow(core.ZoneRoot, 2, 1).Data; bytes.Equal(got, pattern(1, 1)) || bytes.Equal(got, pattern(2, 1)) {
		t.Fatal("a torn one-sector write is neither garbage")
	}
}

// A write in flight at a crash that is not torn is lost; reads in flight are dropped;
// completed writes survive; the disk serves the restarted replica.
func TestCrashLosesWritesInFlightAndKeepsCompletedOnes(t *testing.T) {
	r := newRig(t, Options{WriteLatencyMinTicks: 5, ReadLatencyMinTicks: 5}, 14, 0)
	r.writeNow(core.ZoneReplies, 0, pattern(1, 4))
	r.write(core.ZoneReplies, 4, pattern(2, 4))
	r.write(core.ZoneReplies, 0, pattern(3, 4))
	r.read(core.ZoneReplies, 0, 4)
	r.tick()
	r.disk.Crash()
	completed := len(r.done)
	for i := 0; i < 20; i++ {
		r.tick()
	}
	if len(r.done) != completed || r.disk.InFlight() != 0 {
		t.Fatal("an operation in flight at the crash completed after it")
	}
	if f := r.faultsOf(FaultLostWrite); len(f) != 2 || f[0].Sector != 4 || f[1].Sector != 0 || r.disk.Stats().LostWrites != 2 {
		t.Fatalf("faults %v: want two lost writes, in issue order", r.faults)
	}
	// Identities of lost operations may be used again.
	r.nextID = 1
	if !bytes.Equal(r.readNow(core.ZoneReplies, 0, 4).Data, pattern(1, 4)) ||
		!bytes.Equal(r.readNow(core.ZoneReplies, 4, 4).Data, make([]byte, 4*core.SectorSize)) {
		t.Fatal("after a crash: a completed write is gone, or a lost one landed")
	}
}

// Over a busy disk with every atlas fault frequent, on every replica of a cluster, each
// fault hits only what the atlas allows: per chunk, no more than quorum−1 replicas ever
// fault, and in the root no replica faults two copies.
func TestFaultsStayInsideTheAtlas(t *testing.T) {
	o := Options{ReadLatencyMeanTicks: 3, WriteLatencyMeanTicks: 5, BitRotProbability: entropy.Percent(20),
		ReadErrorProbability: entropy.Percent(10), MisdirectWriteProbability: entropy.Percent(20),
		MisdirectReadProbability: entropy.Percent(20)}
	for _, replicas := range []int{1, 2, 3, 5} {
		quorum := replicas/2 + 1
		layout := testLayout()
		atlas := NewAtlas(entropy.FromSeed(15).Stream("atlas"), replicas, quorum, layout)
		faulted := map[[3]uint64]bool{} // (zone, chunk, replica)
		rootCopies := map[int]map[uint64]bool{}
		for replica := 0; replica < replicas; replica++ {
			d := New(layout, o, entropy.FromSeed(uint64(replica)).Stream("disk"), atlas, replica)
			rootCopies[replica] = map[uint64]bool{}
			mark := func(zone core.Zone, first, count uint64) {
				for s := first; s < first+count; s++ {
					if !atlas.Allows(replica, zone, s) {
						t.Fatalf("replica %d: a fault at sector %d of zone %v, which the atlas forbids", replica, s, zone)
					}
					faulted[[3]uint64{uint64(zone), s / layout[zone].ChunkSectors, uint64(replica)}] = true
					if zone == core.ZoneRoot {
						rootCopies[replica][s] = true
					}
				}
			}
			d.OnFault = func(f Fault) {
				mark(f.Zone, f.Sector, f.Sectors)
				if f.Kind == FaultMisdirectedWrite {
					mark(f.Zone, f.Target, f.Sectors)
				}
			}
			busy(d, entropy.FromSeed(uint64(replica)).Stream("workload"), 3000)
			s := d.Stats()
			every := s.BitRot > 0 && s.ReadErrors > 0 && s.MisdirectedWrites > 0 && s.MisdirectedReads > 0
			none := s.BitRot+s.ReadErrors+s.MisdirectedWrites+s.MisdirectedReads == 0
			if (replicas == 1 && !none) || (replicas > 1 && !every) {
				t.Fatalf("%d replicas: stats %+v", replicas, s)
			}
		}
		perChunk := map[[2]uint64]int{}
		// map order: counting is commutative.
		for k := range faulted {
			perChunk[[2]uint64{k[0], k[1]}]++
		}
		// map order: each entry is checked on its own.
		for chunk, n := range perChunk {
			if n > quorum-1 {
				t.Fatalf("%d replicas: %d faulted chunk %v, want at most %d", replicas, n, chunk, quorum-1)
			}
		}
		// map order: each entry is checked on its own.
		for replica, copies := range rootCopies {
			if len(copies) > 1 {
				t.Fatalf("replica %d faulted root copies %v", replica, copies)
			}
		}
	}
}

// busy drives a disk with random reads and writes of one to four sectors in every zone.
func busy(d *Disk, rand *entropy.Rand, ticks int) {
	layout := d.layout
	id := core.IO(0)
	for i := 0; i < ticks; i++ {
		for k := rand.Int(3); k > 0; k-- {
			zone := core.Zones[rand.Int(len(core.Zones))]
			z := layout[zone]
			count := min(rand.Range(1, 4), z.Sectors)
			first := rand.IntN(z.Sectors - count + 1)
			id++
			if rand.Bool() {
				d.Read(id, zone, first*core.SectorSize, int(count*core.SectorSize))
			} else {
				d.Write(id, zone, first*core.SectorSize, pattern(uint32(id), count))
			}
		}
		d.Tick(func(Completion) {})
	}
}

// The same seed gives the same completions, the same bytes and the same faults; another
// seed does not.
func TestDeterminism(t *testing.T) {
	a, b, c := fingerprint(t, 16), fingerprint(t, 16), fingerprint(t, 17)
	if a != b {
		t.Fatalf("seed 16 twice: fingerprints %x and %x", a, b)
	}
	if a == c {
		t.Fatal("seeds 16 and 17 gave the same run")
	}
}

// fingerprint hashes everything a run of one disk shows: every completion, every fault,
// the stats and every sector as finally read.
func fingerprint(t *testing.T, seed uint64) uint64 {
	o := Options{ReadLatencyMinTicks: 1, ReadLatencyMeanTicks: 4, WriteLatencyMeanTicks: 6,
		BitRotProbability: entropy.Percent(5), ReadErrorProbability: entropy.Percent(3),
		MisdirectWriteProbability: entropy.Percent(5), MisdirectReadProbability: entropy.Percent(5),
		TornWriteProbability: entropy.Percent(80)}
	h := fnvOffset
	d := New(testLayout(), o, entropy.FromSeed(seed).Stream("disk"), NewAtlas(entropy.FromSeed(seed).Stream("atlas"), 3, 2, testLayout()), 0)
	d.OnFault = func(f Fault) { h = h.add([]byte(f.String())) }
	rand := entropy.FromSeed(seed).Stream("workload")
	deliver := func(c Completion) {
		h = h.word(uint64(c.ID)).word(b2u(c.Write)).word(b2u(c.Error)).add(c.Data)
	}
	id := core.IO(0)
	for round := 0; round < 5; round++ {
		for i := 0; i < 400; i++ {
			for k := rand.Int(3); k > 0; k-- {
				zone := core.Zones[rand.Int(len(core.Zones))]
				z := d.layout[zone]
				count := min(rand.Range(1, 4), z.Sectors)
				first := rand.IntN(z.Sectors - count + 1)
				id++
				if rand.Bool() {
					d.Read(id, zone, first*core.SectorSize, int(count*core.SectorSize))
				} else {
					d.Write(id, zone, first*core.SectorSize, pattern(uint32(id), count))
				}
			}
			d.Tick(deliver)
		}
		d.Crash()
	}
	d.Heal()
	for _, zone := range core.Zones {
		id++
		d.Read(id, zone, 0, int(d.layout[zone].Sectors*core.SectorSize))
		for d.InFlight() > 0 {
			d.Tick(deliver)
		}
	}
	s, err := json.Marshal(d.Stats())
	if err != nil {
		t.Fatal(err)
	}
	return uint64(h.add(s))
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// fnv is FNV-1a over everything added.
type fnv uint64

const fnvOffset fnv = 0xcbf29ce484222325

func (h fnv) add(data []byte) fnv {
	for _, c := range data {
		h = (h ^ fnv(c)) * 0x100000001b3
	}
	return h.word(uint64(len(data)))
}

func (h fnv) word(x uint64) fnv {
	for i := 0; i < 8; i++ {
		h = (h ^ fnv(byte(x>>(8*i)))) * 0x100000001b3
	}
	return h
}

// Every fault kind's name is a counter of Stats' JSON, and every counter but reads and
// writes is a fault kind.
func TestFaultKindNamesAreStatsKeys(t *testing.T) {
	raw, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]uint64
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	var keys, kinds []string
	// map order: the keys are sorted below.
	for k := range fields {
		if k != "reads" && k != "writes" {
			keys = append(keys, k)
		}
	}
	for k := FaultBitRot; k <= FaultLostWrite; k++ {
		kinds = append(kinds, k.String())
	}
	sort.Strings(keys)
	sort.Strings(kinds)
	if len(fields) != 8 || len(keys) != len(kinds) || !equalStrings(keys, kinds) {
		t.Fatalf("stats keys %v, fault kinds %v", keys, kinds)
	}
	one := Stats{1, 1, 1, 1, 1, 1, 1, 1}
	if one.Add(one) != (Stats{2, 2, 2, 2, 2, 2, 2, 2}) {
		t.Fatal("Stats.Add does not add every counter")
	}
}

func equalStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// Heal stops the atlas's faults; what already rotted stays until rewritten.
func TestHeal(t *testing.T) {
	r := newRig(t, Options{BitRotProbability: certain, ReadErrorProbability: certain,
		MisdirectReadProbability: certain, MisdirectWriteProbability: certain}, 18, 0)
	sector := r.chunkWhere(core.ZoneHeaders, true)
	r.writeNow(core.ZoneHeaders, sector, pattern(1, 1))
	r.disk.Heal()
	before := len(r.faults)
	if before == 0 {
		t.Fatal("no fault before healing")
	}
	r.writeNow(core.ZoneHeaders, sector, pattern(2, 1))
	if !bytes.Equal(r.readNow(core.ZoneHeaders, sector, 1).Data, pattern(2, 1)) || len(r.faults) != before {
		t.Fatalf("a fault after Heal: %v", r.faults[before:])
	}
}
