package simstorage

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

func TestValidate(t *testing.T) {
	if err := (&Options{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
	good := Options{ReadLatencyMinTicks: 1, ReadLatencyMeanTicks: 3, WriteLatencyMinTicks: 2,
		WriteLatencyMeanTicks: 0, BitRotProbability: entropy.Percent(100), TornWriteProbability: entropy.Percent(90)}
	if err := good.Validate(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	over := entropy.Ratio{Num: 3, Den: 2}
	for _, tc := range []struct {
		want string
		edit func(*Options)
	}{
		{"bit rot probability 3/2 is not a probability", func(o *Options) { o.BitRotProbability = over }},
		{"read error probability", func(o *Options) { o.ReadErrorProbability = over }},
		{"misdirect write probability", func(o *Options) { o.MisdirectWriteProbability = over }},
		{"misdirect read probability", func(o *Options) { o.MisdirectReadProbability = over }},
		{"torn write probability", func(o *Options) { o.TornWriteProbability = entropy.Ratio{Num: 1, Den: 0} }},
		{"read latency mean 2 ticks is below its min 3", func(o *Options) { o.ReadLatencyMinTicks, o.ReadLatencyMeanTicks = 3, 2 }},
		{"write latency mean 1 ticks is below its min 5", func(o *Options) { o.WriteLatencyMinTicks, o.WriteLatencyMeanTicks = 5, 1 }},
		{"read latency min 1048577 ticks", func(o *Options) { o.ReadLatencyMinTicks = LatencyTicksMax + 1 }},
		{"write latency mean 1048577 ticks", func(o *Options) { o.WriteLatencyMeanTicks = LatencyTicksMax + 1 }},
	} {
		o := good
		tc.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error about %q", err, tc.want)
		}
	}
	mustPanic(t, "torn write probability", func() {
		New(testLayout(), Options{TornWriteProbability: over}, entropy.FromSeed(1).Stream("d"),
			NewAtlas(entropy.FromSeed(1).Stream("a"), 3, 2, testLayout()), 0)
	})
}

func TestCalmDiskReadsWhatWasWritten(t *testing.T) {
	r := newRig(t, Options{ReadLatencyMeanTicks: 4, WriteLatencyMeanTicks: 8}, 1, 0)
	if c := r.readNow(core.ZonePrepares, 60, 4); !bytes.Equal(c.Data, make([]byte, 4*core.SectorSize)) {
		t.Fatal("an unwritten slot does not read as zeros")
	}
	for _, zone := range core.Zones {
		r.writeNow(zone, 1, pattern(uint32(zone), 2))
	}
	for _, zone := range core.Zones {
		if c := r.readNow(zone, 0, 3); !bytes.Equal(c.Data[core.SectorSize:], pattern(uint32(zone), 2)) ||
			!bytes.Equal(c.Data[:core.SectorSize], make([]byte, core.SectorSize)) {
			t.Fatalf("zone %v: read back other bytes than written", zone)
		}
	}
	zones := uint64(len(core.Zones))
	if s := r.disk.Stats(); s != (Stats{Reads: 1 + zones, Writes: zones}) || len(r.faults) != 0 {
		t.Fatalf("stats %+v, faults %v: want %d reads, %d writes, nothing else", s, r.faults, 1+zones, zones)
	}
	if uint64(r.disk.StoredSectors()) != 2*zones {
		t.Fatalf("%d sectors stored, want %d", r.disk.StoredSectors(), 2*zones)
	}
}

func TestLatency(t *testing.T) {
	// A mean of zero is a fixed latency; zero ticks is the next tick.
	r := newRig(t, Options{ReadLatencyMinTicks: 5, WriteLatencyMinTicks: 0}, 2, 0)
	read, write := r.read(core.ZoneHeaders, 0, 1), r.write(core.ZoneHeaders, 1, pattern(1, 1))
	r.settle()
	if r.tickOf[read] != 5 || r.tickOf[write] != 1 {
		t.Fatalf("read completed at tick %d (want 5), write at %d (want 1)", r.tickOf[read], r.tickOf[write])
	}
	// max(min, Exp(mean)): E[max(2, floor(Exp(10)))] is about 9.6 ticks.
	r = newRig(t, Options{WriteLatencyMinTicks: 2, WriteLatencyMeanTicks: 10}, 3, 0)
	var sum, minimum uint64 = 0, 1 << 60
	const n = 4000
	for i := 0; i < n; i++ {
		start := r.disk.now
		id := r.write(core.ZoneHeaders, uint64(i%8), pattern(uint32(i), 1))
		r.settle()
		sum += r.tickOf[id] - start
		minimum = min(minimum, r.tickOf[id]-start)
	}
	if mean := float64(sum) / n; mean < 9 || mean > 10.3 || minimum != 2 {
		t.Fatalf("write latency mean %.2f ticks, min %d; want about 9.6 and 2", mean, minimum)
	}
}

// Completions come by due tick, then in issue order, each exactly once.
func TestCompletionOrder(t *testing.T) {
	r := newRig(t, Options{ReadLatencyMeanTicks: 6, WriteLatencyMeanTicks: 6}, 4, 1)
	rand := entropy.FromSeed(4).Stream("workload")
	for i := 0; i < 2000; i++ {
		for k := rand.Int(4); k > 0; k-- {
			if rand.Bool() {
				r.read(core.ZonePrepares, rand.IntN(64), 1)
			} else {
				r.write(core.ZonePrepares, rand.IntN(64), pattern(uint32(i), 1))
			}
		}
		r.tick()
	}
	r.settle()
	if len(r.order) != int(r.nextID) {
		t.Fatalf("%d completions of %d operations", len(r.order), r.nextID)
	}
	ties := 0
	for i := 1; i < len(r.order); i++ {
		a, b := r.order[i-1], r.order[i]
		if r.tickOf[a] > r.tickOf[b] || (r.tickOf[a] == r.tickOf[b] && a > b) {
			t.Fatalf("IO %d (tick %d) completed before IO %d (tick %d)", a, r.tickOf[a], b, r.tickOf[b])
		}
		if r.tickOf[a] == r.tickOf[b] {
			ties++
		}
	}
	if ties == 0 {
		t.Fatal("no two operations completed at the same tick: the order of ties went untested")
	}
}

// A write's bytes land at its completion: a read that completes first sees the old bytes.
func TestBytesLandAtCompletion(t *testing.T) {
	r := newRig(t, Options{ReadLatencyMinTicks: 1, WriteLatencyMinTicks: 10}, 5, 0)
	r.writeNow(core.ZoneReplies, 0, pattern(1, 4))
	write := r.write(core.ZoneReplies, 0, pattern(2, 4))
	early := r.read(core.ZoneReplies, 0, 4)
	r.tick()
	if !bytes.Equal(r.done[early].Data, pattern(1, 4)) {
		t.Fatal("a read saw a write still in flight")
	}
	r.settle()
	if _, ok := r.done[write]; !ok || !bytes.Equal(r.readNow(core.ZoneReplies, 0, 4).Data, pattern(2, 4)) {
		t.Fatal("a completed write's bytes are not there")
	}
	// The caller's buffer is copied at issue.
	data := pattern(3, 1)
	r.write(core.ZoneReplies, 5, data)
	clear(data)
	r.settle()
	if !bytes.Equal(r.readNow(core.ZoneReplies, 5, 1).Data, pattern(3, 1)) {
		t.Fatal("a write took the caller's buffer as it was at completion, not at issue")
	}
}

func TestMisusePanics(t *testing.T) {
	r := newRig(t, Options{WriteLatencyMinTicks: 3}, 6, 0)
	r.write(core.ZoneHeaders, 0, pattern(1, 1))
	for _, tc := range []struct {
		want string
		call func()
	}{
		{"IO 0", func() { r.disk.Read(0, core.ZoneHeaders, 0, core.SectorSize) }},
		{"still in flight", func() { r.disk.Read(1, core.ZoneHeaders, 0, core.SectorSize) }},
		{"not whole sectors", func() { r.disk.Read(9, core.ZoneHeaders, 100, core.SectorSize) }},
		{"not whole sectors", func() { r.disk.Write(9, core.ZoneHeaders, 0, make([]byte, 100)) }},
		{"which has 32768 bytes", func() { r.disk.Read(9, core.ZoneHeaders, 7*core.SectorSize, 2*core.SectorSize) }},
		{"which has 32768 bytes", func() { r.disk.Write(9, core.ZoneHeaders, 8*core.SectorSize, pattern(1, 1)) }},
		{"want at least a sector", func() { r.disk.Read(9, core.ZoneHeaders, 0, 0) }},
		{"of no bytes", func() { r.disk.Write(9, core.ZoneHeaders, 0, nil) }},
		{"in no zone", func() { r.disk.Read(9, 0, 0, core.SectorSize) }},
		{"in no zone", func() { r.disk.Read(9, core.Zone(9), 0, core.SectorSize) }},
		{"Tick called from inside", func() {
			for i := 0; i < 5; i++ {
				r.disk.Tick(func(Completion) { r.disk.Tick(r.deliver) })
			}
		}},
		{"needs the atlas", func() { New(testLayout(), Options{}, entropy.FromSeed(1).Stream("d"), nil, 0) }},
		{"disk of replica 3", func() { New(testLayout(), Options{}, entropy.FromSeed(1).Stream("d"), r.atlas, 3) }},
	} {
		mustPanic(t, tc.want, tc.call)
	}
}

// A write far into an 8 GiB zone costs about a sector, as does a fault on a sector never
// written.
func TestSparseMemory(t *testing.T) {
	layout := testLayout()
	layout[core.ZonePrepares] = core.ZoneLayout{Sectors: 1 << 17 * 16, ChunkSectors: 16}
	if bytes := layout[core.ZonePrepares].Sectors * core.SectorSize; bytes != 8<<30 {
		t.Fatalf("the journal zone is %d bytes, want 8 GiB", bytes)
	}
	atlas := NewAtlas(entropy.FromSeed(7).Stream("atlas"), 3, 2, layout)
	d := New(layout, Options{ReadErrorProbability: entropy.Percent(100)}, entropy.FromSeed(7).Stream("d"), atlas, 0)
	last := layout[core.ZonePrepares].Sectors - 1
	d.Write(1, core.ZonePrepares, last*core.SectorSize, pattern(1, 1))
	d.Read(2, core.ZonePrepares, (last-16)*core.SectorSize, 16*core.SectorSize)
	d.Tick(func(Completion) {})
	if d.InFlight() != 0 || d.StoredSectors() != 1 || d.Bytes() == 0 || d.Bytes() > core.SectorSize {
		t.Fatalf("%d in flight, %d sectors stored, %d bytes: want 0, 1, at most 4096", d.InFlight(), d.StoredSectors(), d.Bytes())
	}
	if len(d.sectors.faults) > 1 {
		t.Fatalf("%d faulty sectors recorded: want at most the one read error", len(d.sectors.faults))
	}
	// A short record padded to a sector costs its own length, and reads back whole.
	calm := New(layout, Options{}, entropy.FromSeed(7).Stream("calm"), atlas, 0)
	short := make([]byte, core.SectorSize)
	copy(short, "a prepare of a few bytes")
	calm.Write(1, core.ZonePrepares, 0, short)
	calm.Tick(func(Completion) {})
	if want := uint64(len("a prepare of a few bytes")); calm.Bytes() != want {
		t.Fatalf("%d bytes stored, want %d", calm.Bytes(), want)
	}
	var back []byte
	calm.Read(2, core.ZonePrepares, 0, core.SectorSize)
	calm.Tick(func(c Completion) { back = append([]byte(nil), c.Data...) })
	if !bytes.Equal(back, short) {
		t.Fatal("a short record does not read back as written")
	}
}

// A crash from inside a completion ends the tick: what was still due then is in flight
// at the crash.
func TestCrashFromACompletion(t *testing.T) {
	r := newRig(t, Options{WriteLatencyMinTicks: 2, ReadLatencyMinTicks: 2}, 8, 0)
	first := r.read(core.ZoneHeaders, 0, 1)
	r.write(core.ZoneHeaders, 1, pattern(1, 1))
	r.write(core.ZoneHeaders, 2, pattern(2, 1))
	crash := func(c Completion) {
		r.deliver(c)
		r.disk.Crash()
	}
	r.disk.Tick(crash)
	r.disk.Tick(crash)
	if len(r.done) != 1 || r.done[first].Error || r.disk.InFlight() != 0 || r.disk.Stats().LostWrites != 2 {
		t.Fatalf("completed %v, %d in flight, stats %+v: want the read alone, two writes lost",
			r.order, r.disk.InFlight(), r.disk.Stats())
	}
}
