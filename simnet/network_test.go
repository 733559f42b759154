package simnet

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
)

// calm returns options with every fault off: delays only.
func calm(processes int) Options {
	return Options{Processes: processes, Partitionable: processes, DelayMinTicks: 1,
		DelayMeanTicks: 3, LinkCapacity: LinkCapacityMax}
}

// harness sends numbered, checksummed packets through a network and records what arrives.
type harness struct {
	t        *testing.T
	net      *Network
	rand     *entropy.Rand
	now      simclock.Tick
	sentAt   map[uint64]simclock.Tick
	intended map[uint64]Process
	events   map[EventKind]int
	drops    map[DropReason]int

	arrivals   int // packets that arrived intact
	corrupted  int // arrived with a bad checksum
	misrouted  int // arrived intact at another process
	duplicates int // arrived intact more than once
	seen       map[uint64]int
	delaySum   uint64
	nextID     uint64
}

func newHarness(t *testing.T, o Options, seed uint64) *harness {
	h := &harness{t: t, rand: entropy.FromSeed(seed).Stream("harness"),
		sentAt: map[uint64]simclock.Tick{}, intended: map[uint64]Process{},
		events: map[EventKind]int{}, drops: map[DropReason]int{}, seen: map[uint64]int{}}
	h.net = New(o, entropy.FromSeed(seed).Stream("simnet"), func(e Event) {
		h.events[e.Kind]++
		if e.Kind == EventDropped {
			h.drops[e.Reason]++
		}
	})
	return h
}

func (h *harness) send(source, target Process) {
	var data [32]byte
	h.nextID++
	binary.LittleEndian.PutUint64(data[0:], h.nextID)
	binary.LittleEndian.PutUint16(data[8:], uint16(source))
	binary.LittleEndian.PutUint16(data[10:], uint16(target))
	binary.LittleEndian.PutUint32(data[28:], crc32.ChecksumIEEE(data[:28]))
	h.sentAt[h.nextID] = h.now
	h.intended[h.nextID] = target
	h.net.Send(source, target, data[:])
}

func (h *harness) receive(source, target Process, data []byte) {
	if binary.LittleEndian.Uint32(data[28:]) != crc32.ChecksumIEEE(data[:28]) {
		h.corrupted++
		return
	}
	id := binary.LittleEndian.Uint64(data)
	if Process(binary.LittleEndian.Uint16(data[8:])) != source {
		h.t.Fatalf("packet %d: delivered with source %d", id, source)
	}
	h.arrivals++
	h.seen[id]++
	if h.seen[id] > 1 {
		h.duplicates++
	}
	if target != h.intended[id] {
		h.misrouted++
	}
	h.delaySum += uint64(h.now - h.sentAt[id])
}

// tick delivers, advances, then sends perTick random packets.
func (h *harness) tick(perTick int) {
	h.now++
	h.net.Deliver(h.now, h.receive)
	h.net.Advance(h.now)
	processes := h.net.options.Processes
	for i := 0; i < perTick; i++ {
		source := Process(h.rand.Int(processes))
		target := Process(h.rand.Int(processes))
		h.send(source, target)
	}
}

func (h *harness) run(ticks, perTick int) {
	for i := 0; i < ticks; i++ {
		h.tick(perTick)
	}
	for i := 0; i < 2000 && h.net.InFlight() > 0; i++ {
		h.tick(0)
	}
}

// near fails unless got is within five standard deviations of n·p.
func near(t *testing.T, what string, got, n int, p entropy.Ratio) {
	t.Helper()
	want := float64(n) * float64(p.Num) / float64(p.Den)
	tolerance := 5*math.Sqrt(want) + 2
	if math.Abs(float64(got)-want) > tolerance {
		t.Errorf("%s: %d of %d, want %.0f ± %.0f (%v)", what, got, n, want, tolerance, p)
	}
}

func TestCalmNetworkDeliversEverythingOnce(t *testing.T) {
	h := newHarness(t, calm(5), 1)
	h.run(2000, 10)
	s := h.net.Stats()
	if s.Sent != 20_000 || s.Delivered != 20_000 || h.arrivals != 20_000 {
		t.Fatalf("sent %d delivered %d arrived %d, want 20000 each", s.Sent, s.Delivered, h.arrivals)
	}
	if s.Dropped+s.Duplicated+s.Corrupted+s.Misrouted+s.Partitions+s.Clogs != 0 || h.corrupted+h.duplicates+h.misrouted != 0 {
		t.Fatalf("calm network injected faults: %+v", s)
	}
}

func TestDelayIsMinPlusExponential(t *testing.T) {
	o := calm(3)
	o.DelayMinTicks, o.DelayMeanTicks = 2, 8
	h := newHarness(t, o, 2)
	h.run(3000, 10)
	mean := float64(h.delaySum) / float64(h.arrivals)
	// E[max(2, floor(Exp(8)))] is about 8.1 ticks.
	if mean < 7.4 || mean > 8.8 {
		t.Fatalf("mean delay %.2f ticks, want about 8.1", mean)
	}
	o.DelayMinTicks, o.DelayMeanTicks = 0, 0
	h = newHarness(t, o, 2)
	h.run(100, 10)
	if h.delaySum != uint64(h.arrivals) {
		t.Fatalf("zero delay: packets took %d ticks for %d arrivals, want exactly one each", h.delaySum, h.arrivals)
	}
}

func TestLossRate(t *testing.T) {
	o := calm(4)
	o.LossProbability = entropy.Percent(20)
	h := newHarness(t, o, 3)
	h.run(2000, 10)
	near(t, "lost", h.drops[DropLoss], 20_000, o.LossProbability)
	if s := h.net.Stats(); s.DroppedLoss != uint64(h.drops[DropLoss]) || s.Dropped != s.DroppedLoss {
		t.Fatalf("stats %+v disagree with %d loss events", s, h.drops[DropLoss])
	}
	if h.arrivals+h.drops[DropLoss] != 20_000 {
		t.Fatalf("%d arrived + %d lost != 20000 sent", h.arrivals, h.drops[DropLoss])
	}
}

func TestDuplicateRate(t *testing.T) {
	o := calm(4)
	o.DuplicateProbability = entropy.Percent(30)
	h := newHarness(t, o, 4)
	h.run(2000, 10)
	// Copies may be duplicated again, so of all deliveries a fraction p produce a copy.
	near(t, "duplicated", int(h.net.Stats().Duplicated), int(h.net.Stats().Delivered), o.DuplicateProbability)
	if h.duplicates != int(h.net.Stats().Duplicated) || h.duplicates == 0 {
		t.Fatalf("%d extra arrivals, %d duplications counted", h.duplicates, h.net.Stats().Duplicated)
	}
}

func TestCorruptionFlipsBitsThatChecksumsCatch(t *testing.T) {
	o := calm(4)
	o.CorruptProbability = entropy.Percent(5)
	h := newHarness(t, o, 5)
	h.run(2000, 10)
	near(t, "corrupted", h.corrupted, 20_000, o.CorruptProbability)
	if int(h.net.Stats().Corrupted) != h.corrupted {
		t.Fatalf("%d packets failed their checksum, %d corruptions counted", h.corrupted, h.net.Stats().Corrupted)
	}
}

func TestMisrouteRate(t *testing.T) {
	o := calm(6)
	o.MisrouteProbability = entropy.Percent(2)
	h := newHarness(t, o, 6)
	h.run(3000, 10)
	near(t, "misrouted", h.misrouted, 30_000, o.MisrouteProbability)
	if int(h.net.Stats().Misrouted) != h.misrouted {
		t.Fatalf("%d arrived elsewhere, %d misroutes counted", h.misrouted, h.net.Stats().Misrouted)
	}
}

func TestLinkCapacityDropsRandomQueuedPackets(t *testing.T) {
	o := calm(2)
	o.LinkCapacity = 4
	o.DelayMinTicks, o.DelayMeanTicks = 10, 10
	h := newHarness(t, o, 7)
	for i := 0; i < 100; i++ {
		h.send(0, 1)
		if got := len(h.net.link(0, 1).inflight); got > 4 {
			t.Fatalf("link holds %d packets, capacity 4", got)
		}
	}
	h.run(0, 0)
	if h.arrivals != 4 || h.drops[DropOverflow] != 96 {
		t.Fatalf("arrived %d, dropped %d; want 4 and 96", h.arrivals, h.drops[DropOverflow])
	}
	// The survivors are a random choice, not simply the first or the last four sent.
	first, last := 0, 0
	for id := range h.seen {
		if id <= 4 {
			first++
		}
		if id > 96 {
			last++
		}
	}
	if first == 4 || last == 4 {
		t.Fatalf("survivors %v: overflow must drop a random queued packet", h.seen)
	}
}

func TestClogsHoldPacketsWithoutLosingThem(t *testing.T) {
	o := calm(4)
	o.ClogProbability = entropy.Percent(1)
	o.ClogMeanTicks = 50
	h := newHarness(t, o, 8)
	h.run(4000, 5)
	links := 16
	near(t, "clogs", int(h.net.Stats().Clogs), 4000*links, o.ClogProbability)
	if h.arrivals != 20_000 {
		t.Fatalf("%d of 20000 arrived: a clog must not lose packets", h.arrivals)
	}
	calmH := newHarness(t, calm(4), 8)
	calmH.run(4000, 5)
	if h.delaySum <= calmH.delaySum*11/10 {
		t.Fatalf("clogged delay %d not above calm delay %d", h.delaySum, calmH.delaySum)
	}
}

func TestPartitionModes(t *testing.T) {
	for _, mode := range []PartitionMode{PartitionUniformSize, PartitionUniformCoin, PartitionIsolateSingle} {
		for _, symmetry := range []PartitionSymmetry{Symmetric, Asymmetric} {
			o := calm(7) // 5 replicas and 2 clients
			o.Partitionable = 5
			o.PartitionMode, o.PartitionSymmetry = mode, symmetry
			o.PartitionProbability, o.UnpartitionProbability = entropy.Percent(3), entropy.Percent(10)
			o.PartitionStableTicks, o.UnpartitionStableTicks = 100, 10
			h := newHarness(t, o, 9)
			splits, blocked, oneWay := 0, 0, 0
			for i := 0; i < 5000; i++ {
				h.tick(5)
				p := &h.net.partition
				if !p.active {
					continue
				}
				count := 0
				for r, s := range p.side {
					if s && r >= 5 {
						t.Fatalf("%v: client %d was partitioned", mode, r)
					}
					if s {
						count++
					}
				}
				if count == 0 || count == 5 {
					t.Fatalf("%v: a partition with an empty side", mode)
				}
				if mode == PartitionIsolateSingle && count != 1 {
					t.Fatalf("isolate-single isolated %d", count)
				}
				splits++
				for a := Process(0); a < 5; a++ {
					for b := Process(0); b < 5; b++ {
						ab, ba := p.blocks(a, b), p.blocks(b, a)
						if ab {
							blocked++
						}
						if ab != ba {
							oneWay++
						}
					}
				}
			}
			s := h.net.Stats()
			if s.Partitions < 5 || splits == 0 || blocked == 0 || s.DroppedPartition == 0 {
				t.Errorf("%v %v: %d partitions, %d split ticks, %d drops", mode, symmetry, s.Partitions, splits, s.DroppedPartition)
			}
			if (symmetry == Asymmetric) != (oneWay > 0) {
				t.Errorf("%v %v: %d one-way blocked pairs", mode, symmetry, oneWay)
			}
		}
	}
}

func TestPartitionStabilityWindows(t *testing.T) {
	o := calm(3)
	o.PartitionMode = PartitionIsolateSingle
	o.PartitionProbability, o.UnpartitionProbability = entropy.Percent(100), entropy.Percent(100)
	o.PartitionStableTicks, o.UnpartitionStableTicks = 150, 20
	h := newHarness(t, o, 10)
	var changes []simclock.Tick
	was := false
	for i := 0; i < 1000; i++ {
		h.tick(0)
		if h.net.Partitioned() != was {
			changes = append(changes, h.now)
			was = h.net.Partitioned()
		}
	}
	for i := 1; i < len(changes); i++ {
		gap := changes[i] - changes[i-1]
		want := simclock.Tick(150)
		if i%2 == 0 {
			want = 20
		}
		if gap != want {
			t.Fatalf("change %d after %d ticks, want %d (changes %v)", i, gap, want, changes)
		}
	}
	if len(changes) < 10 {
		t.Fatalf("only %d changes", len(changes))
	}
}

func TestDownAndHeldProcesses(t *testing.T) {
	h := newHarness(t, calm(3), 11)
	h.net.SetDown(2, true)
	h.net.SetHeld(1, true)
	for i := 0; i < 10; i++ {
		h.send(0, 1)
		h.send(0, 2)
	}
	for i := 0; i < 100; i++ {
		h.tick(0)
	}
	if h.drops[DropDown] != 10 || h.arrivals != 0 {
		t.Fatalf("down: %d dropped, %d arrived; want 10 and 0", h.drops[DropDown], h.arrivals)
	}
	if inFlight := h.net.InFlight(); inFlight != 10 {
		t.Fatalf("held: %d packets in flight, want the 10 waiting for the paused process", inFlight)
	}
	h.net.SetHeld(1, false)
	h.tick(0)
	if h.arrivals != 10 {
		t.Fatalf("released: %d of 10 held packets arrived", h.arrivals)
	}
}

func TestIsolatedProcessIsCutOff(t *testing.T) {
	h := newHarness(t, calm(3), 15)
	h.net.Isolate(1)
	for i := 0; i < 10; i++ {
		h.send(0, 1)
		h.send(1, 2)
		h.send(0, 2)
	}
	h.run(0, 0)
	if h.drops[DropPartition] != 20 || h.arrivals != 10 {
		t.Fatalf("isolated: %d dropped, %d arrived; want 20 and 10", h.drops[DropPartition], h.arrivals)
	}
}

func TestHealStopsEveryFault(t *testing.T) {
	o := Options{Processes: 4, Partitionable: 4, DelayMinTicks: 0, DelayMeanTicks: 5,
		LossProbability: entropy.Percent(30), DuplicateProbability: entropy.Percent(30),
		CorruptProbability: entropy.Percent(5), MisrouteProbability: entropy.Percent(2),
		LinkCapacity: 3, ClogProbability: entropy.Percent(2), ClogMeanTicks: 100,
		PartitionMode: PartitionUniformCoin, PartitionProbability: entropy.Percent(50),
		UnpartitionProbability: entropy.Percent(1), PartitionStableTicks: 100}
	h := newHarness(t, o, 12)
	h.run(1000, 5)
	h.net.Heal()
	h.run(0, 0) // what was in flight before the heal, duplicates included, arrives first
	before := h.net.Stats()
	h.arrivals, h.corrupted, h.misrouted, h.duplicates = 0, 0, 0, 0
	h.seen = map[uint64]int{}
	h.run(1000, 5)
	after := h.net.Stats()
	if after.Dropped != before.Dropped || after.Duplicated != before.Duplicated ||
		after.Corrupted != before.Corrupted || after.Misrouted != before.Misrouted ||
		after.Partitions != before.Partitions || after.Clogs != before.Clogs {
		t.Fatalf("faults after Heal: before %+v after %+v", before, after)
	}
	if h.arrivals != 5000 {
		t.Fatalf("after Heal %d of 5000 arrived", h.arrivals)
	}
}

func TestSameSeedSameEvents(t *testing.T) {
	trace := func(seed uint64) []Event {
		var events []Event
		o := calm(5)
		o.LossProbability, o.DuplicateProbability = entropy.Percent(10), entropy.Percent(10)
		o.ClogProbability, o.ClogMeanTicks = entropy.Percent(1), 20
		o.PartitionMode, o.PartitionProbability, o.UnpartitionProbability = PartitionUniformSize, entropy.Percent(2), entropy.Percent(5)
		n := New(o, entropy.FromSeed(seed).Stream("simnet"), func(e Event) {
			e.Data = nil // the bytes are only valid during the call
			events = append(events, e)
		})
		feed := entropy.FromSeed(seed).Stream("feed")
		for now := simclock.Tick(1); now < 500; now++ {
			n.Deliver(now, func(Process, Process, []byte) {})
			n.Advance(now)
			n.Send(Process(feed.Int(5)), Process(feed.Int(5)), []byte{byte(now)})
		}
		return events
	}
	a, b, c := trace(1), trace(1), trace(2)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d vs %d events", len(a), len(b))
	}
	for i := range a {
		if !sameEvent(a[i], b[i]) {
			t.Fatalf("same seed: event %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
	if len(a) == len(c) {
		same := true
		for i := range a {
			same = same && sameEvent(a[i], c[i])
		}
		if same {
			t.Fatal("seeds 1 and 2 gave identical event streams")
		}
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	n := New(calm(4), entropy.FromSeed(13).Stream("simnet"), nil)
	data := make([]byte, 200)
	now := simclock.Tick(0)
	deliver := func(Process, Process, []byte) {}
	step := func() {
		now++
		n.Deliver(now, deliver)
		n.Advance(now)
		for i := 0; i < 8; i++ {
			n.Send(Process(i%4), Process((i+1)%4), data)
		}
	}
	for i := 0; i < 1000; i++ {
		step() // warm up the slab and the heap
	}
	if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
		t.Fatalf("%.1f allocations per tick in steady state", allocs)
	}
}

func TestSameTickDeliveriesAreInterleavedFairly(t *testing.T) {
	o := calm(3)
	o.DelayMinTicks, o.DelayMeanTicks = 2, 0 // every packet takes exactly two ticks
	n := New(o, entropy.FromSeed(14).Stream("simnet"), nil)
	firstFromZero := 0
	for now := simclock.Tick(1); now <= 1000; now++ {
		first := -1
		n.Deliver(now, func(source, _ Process, _ []byte) {
			if first < 0 {
				first = int(source)
			}
		})
		if first == 0 {
			firstFromZero++
		}
		n.Send(0, 2, []byte{0})
		n.Send(1, 2, []byte{1})
	}
	near(t, "ticks where process 0's packet came first", firstFromZero, 998, entropy.Percent(50))
}

// BenchmarkDeliver measures packets per second through a calm network: one send and one
// delivery per packet, 200-byte packets, 8 processes.
func BenchmarkDeliver(b *testing.B) {
	n := New(calm(8), entropy.FromSeed(1).Stream("simnet"), nil)
	data := make([]byte, 200)
	deliver := func(Process, Process, []byte) {}
	const perTick = 64
	now := simclock.Tick(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perTick {
		now++
		n.Deliver(now, deliver)
		n.Advance(now)
		for j := 0; j < perTick; j++ {
			n.Send(Process(j%8), Process((j+3)%8), data)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDeliverFaulty is the same with every fault on at swarm-typical rates.
func BenchmarkDeliverFaulty(b *testing.B) {
	o := Options{Processes: 8, Partitionable: 5, DelayMinTicks: 1, DelayMeanTicks: 5,
		LossProbability: entropy.Percent(10), DuplicateProbability: entropy.Percent(10),
		CorruptProbability: entropy.Percent(1), MisrouteProbability: entropy.Percent(1),
		LinkCapacity: 16, ClogProbability: entropy.Percent(1), ClogMeanTicks: 100,
		PartitionMode: PartitionUniformSize, PartitionProbability: entropy.Percent(1),
		UnpartitionProbability: entropy.Percent(5), PartitionStableTicks: 150}
	n := New(o, entropy.FromSeed(1).Stream("simnet"), nil)
	data := make([]byte, 200)
	deliver := func(Process, Process, []byte) {}
	const perTick = 64
	now := simclock.Tick(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perTick {
		now++
		n.Deliver(now, deliver)
		n.Advance(now)
		for j := 0; j < perTick; j++ {
			n.Send(Process(j%8), Process((j+3)%8), data)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDeliverWhilePaused measures a tick of a network whose one process is paused
// with thousands of packets waiting for it: what waits is parked, so a tick costs what the
// packets that move cost, not what the pause holds back.
func BenchmarkDeliverWhilePaused(b *testing.B) {
	o := calm(8)
	o.LinkCapacity = LinkCapacityMax
	n := New(o, entropy.FromSeed(1).Stream("simnet"), nil)
	data := make([]byte, 200)
	deliver := func(Process, Process, []byte) {}
	n.SetHeld(7, true)
	now := simclock.Tick(0)
	for ; now < 100; now++ {
		n.Deliver(now, deliver)
		for j := 0; j < 64; j++ {
			n.Send(Process(j%7), 7, data)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now++
		n.Deliver(now, deliver)
		n.Send(0, 1, data)
	}
}

// sameEvent compares events by everything but their bytes.
func sameEvent(a, b Event) bool {
	a.Data, b.Data = nil, nil
	return a.Kind == b.Kind && a.Reason == b.Reason && a.Source == b.Source && a.Target == b.Target &&
		a.Actual == b.Actual && a.Size == b.Size && a.Head == b.Head && a.Ticks == b.Ticks
}
