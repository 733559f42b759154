package sim

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// storageRuns runs seeds 1..seeds of a three-replica cluster that crashes often, with the
// overrides, every other fault class off, and returns the runs' summed stats; every run
// must pass.
func storageRuns(t *testing.T, seeds int, overrides ...Override) Stats {
	t.Helper()
	var sum Stats
	for seed := 1; seed <= seeds; seed++ {
		base := []Override{{Name: "replicas", Value: "3"}, {Name: "requests", Value: "120"}}
		r := mustRun(t, RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileCalm,
			Overrides: append(base, overrides...)})
		sum.Storage = sum.Storage.Add(r.Stats.Storage)
		sum.Wipes += r.Stats.Wipes
		sum.Crashes += r.Stats.Crashes
		sum.ClusterCrashes += r.Stats.ClusterCrashes
	}
	return sum
}

// crashing makes replicas crash and restart often, within the stop budget.
var crashing = []Override{{Name: "crashProbability", Value: "0.2%"}, {Name: "restartProbability", Value: "2%"}}

// TestStorageKnobsInject: each storage fault knob injects its fault, counted in the stats,
// and at zero injects nothing. Reads happen only where a replica reads its disk, which it
// does not yet at restart (the read path lands with restart-from-disk): the read faults'
// knobs are checked to reach the disk, and counted only when reads happened.
func TestStorageKnobsInject(t *testing.T) {
	cases := []struct {
		name, on string
		count    func(s *Stats) uint64
		extra    []Override
		reads    bool // needs reads
	}{
		{"bitRotProbability", "10%", func(s *Stats) uint64 { return s.Storage.BitRot }, nil, false},
		{"misdirectWriteProbability", "5%", func(s *Stats) uint64 { return s.Storage.MisdirectedWrites }, nil, false},
		{"readErrorProbability", "5%", func(s *Stats) uint64 { return s.Storage.ReadErrors }, crashing, true},
		{"misdirectReadProbability", "2%", func(s *Stats) uint64 { return s.Storage.MisdirectedReads }, crashing, true},
		{"tornWriteProbability", "100%", func(s *Stats) uint64 { return s.Storage.TornWrites }, crashing, false},
		{"wipeProbability", "100%", func(s *Stats) uint64 { return s.Wipes }, crashing, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			on := storageRuns(t, 4, append([]Override{{Name: c.name, Value: c.on}}, c.extra...)...)
			off := storageRuns(t, 4, append([]Override{{Name: c.name, Value: "0"}}, c.extra...)...)
			t.Logf("%s %s: %d injected (%d reads, %d writes, %d crashes); at 0: %d", c.name, c.on,
				c.count(&on), on.Storage.Reads, on.Storage.Writes, on.Crashes, c.count(&off))
			if c.count(&off) != 0 {
				t.Errorf("%s 0 injected %d", c.name, c.count(&off))
			}
			if c.count(&on) == 0 && !(c.reads && on.Storage.Reads == 0) {
				t.Errorf("%s %s injected nothing", c.name, c.on)
			}
		})
	}
}

// TestTornOrLost: a write in flight at a crash is torn with tornWriteProbability and else
// lost; the crash class alone, with every storage knob at zero, loses them all.
func TestTornOrLost(t *testing.T) {
	torn := storageRuns(t, 4, append([]Override{{Name: "tornWriteProbability", Value: "100%"}}, crashing...)...)
	lost := storageRuns(t, 4, append([]Override{{Name: "tornWriteProbability", Value: "0"}}, crashing...)...)
	if torn.Storage.TornWrites == 0 || torn.Storage.LostWrites != 0 || lost.Storage.LostWrites == 0 || lost.Storage.TornWrites != 0 {
		t.Fatalf("torn 100%%: %+v; torn 0: %+v", torn.Storage, lost.Storage)
	}
}

// TestStorageKnobsReachTheDisks: every replica's disk, and a wiped replica's new one, has
// the run's storage options; the calm and performance profiles have a fault-free disk of
// fixed one-tick latency.
func TestStorageKnobsReachTheDisks(t *testing.T) {
	config := RunConfig{Seed: "7", Profile: ProfileSwarm, Overrides: []Override{
		{Name: "replicas", Value: "3"}, {Name: "readLatencyMinTicks", Value: "2"},
		{Name: "readLatencyMeanTicks", Value: "9"}, {Name: "writeLatencyMinTicks", Value: "3"},
		{Name: "writeLatencyMeanTicks", Value: "0"}, {Name: "bitRotProbability", Value: "1/7"},
		{Name: "readErrorProbability", Value: "2/7"}, {Name: "misdirectWriteProbability", Value: "3/70"},
		{Name: "misdirectReadProbability", Value: "4/70"}, {Name: "tornWriteProbability", Value: "5/7"},
		{Name: "crashProbability", Value: "0.2%"}, {Name: "restartProbability", Value: "2%"},
		{Name: "wipeProbability", Value: "100%"}}}
	options, factory, err := Prepare(config)
	if err != nil {
		t.Fatal(err)
	}
	want := simstorage.Options{ReadLatencyMinTicks: 2, ReadLatencyMeanTicks: 9, WriteLatencyMinTicks: 3,
		BitRotProbability: entropy.Ratio{Num: 1, Den: 7}, ReadErrorProbability: entropy.Ratio{Num: 2, Den: 7},
		MisdirectWriteProbability: entropy.Ratio{Num: 3, Den: 70}, MisdirectReadProbability: entropy.Ratio{Num: 4, Den: 70},
		TornWriteProbability: entropy.Ratio{Num: 5, Den: 7}}
	w := newWorld(options, factory, newTrace(nil, nil), &config)
	w.attachStorage()
	for i := 0; i < 5000 && w.kernel.Stats().Wipes == 0; i++ {
		w.step()
	}
	if w.kernel.Stats().Wipes == 0 {
		t.Fatal("no wipe in 5000 ticks")
	}
	for i, d := range w.disks {
		if d.Options() != want {
			t.Errorf("replica %d's disk: %+v, want %+v", i, d.Options(), want)
		}
	}
	for _, profile := range []Profile{ProfileCalm, ProfilePerformance} {
		o := DrawOptions(profile, entropy.FromSeed(7).Stream("options"))
		s := o.Storage
		fixed := s.ReadLatencyMinTicks == 1 && s.ReadLatencyMeanTicks == 0 && s.WriteLatencyMinTicks == 1 &&
			s.WriteLatencyMeanTicks == 0
		faults := !s.BitRotProbability.IsZero() || !s.ReadErrorProbability.IsZero() ||
			!s.MisdirectWriteProbability.IsZero() || !s.MisdirectReadProbability.IsZero() ||
			!s.TornWriteProbability.IsZero()
		if !fixed || faults || !o.WipeProbability.IsZero() || !o.ClusterCrashProbability.IsZero() {
			t.Errorf("%v: storage %+v, wipe %v, cluster crash %v", profile, o.Storage, o.WipeProbability,
				o.ClusterCrashProbability)
		}
	}
}

// TestStorageFaultsInTheTrace: every storage fault counted is one line of the trace, with
// its replica, zone and sector.
func TestStorageFaultsInTheTrace(t *testing.T) {
	var text strings.Builder
	r := mustRun(t, RunConfig{Seed: "3", Profile: ProfileCalm, Trace: &text, Overrides: append([]Override{
		{Name: "replicas", Value: "3"}, {Name: "bitRotProbability", Value: "5%"},
		{Name: "misdirectWriteProbability", Value: "2%"}}, crashing...)})
	s := r.Stats.Storage
	faults := s.BitRot + s.ReadErrors + s.MisdirectedWrites + s.MisdirectedReads + s.TornWrites + s.LostWrites
	lines := strings.Count(text.String(), "storage.fault p")
	if faults == 0 || lines != int(faults) || strings.Count(text.String(), " zone=") < lines ||
		strings.Count(text.String(), " sector=") < lines {
		t.Fatalf("%d faults counted, %d trace lines", faults, lines)
	}
}

// TestCrashWhileWriting: crashProbability is ten times higher while a replica's disk has
// writes in flight.
func TestCrashWhileWriting(t *testing.T) {
	crashes := func(writing bool) uint64 {
		factory := entropy.FromSeed(11)
		o := DrawOptions(ProfileCalm, factory.Stream("options"))
		o.Replicas, o.CrashProbability, o.RestartProbability = 5, entropy.Ratio{Num: 5, Den: 10_000}, entropy.Percent(50)
		k := NewKernel(KernelConfig{Options: &o, Entropy: factory, Trace: newTrace(nil, nil),
			Start:          func(env *Env) Node { return &pingNode{env: env, received: &pingCounts{}} },
			WritesInFlight: func(simnet.Process) bool { return writing }})
		for i := 0; i < 50_000; i++ {
			k.Step()
			k.Faults()
		}
		return k.Stats().Crashes
	}
	idle, writing := crashes(false), crashes(true)
	t.Logf("crashes in 50,000 ticks: %d idle, %d writing", idle, writing)
	if idle == 0 || writing < 5*idle {
		t.Fatalf("crashes: %d idle, %d writing: want about ten times as many", idle, writing)
	}
}

// TestWipeBudget: with every restart a wipe where the budget allows, in clusters of every
// size, wipes happen, runs pass, and no more replicas are ever wiped or recovering from a
// wipe than leave a replication quorum (the scheduler also asserts it every tick).
func TestWipeBudget(t *testing.T) {
	for replicas := 1; replicas <= ReplicasMax; replicas++ {
		var wipes, wipedMax uint64
		for seed := 1; seed <= 3; seed++ {
			config := RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileSwarm, Overrides: []Override{
				{Name: "replicas", Value: strconv.Itoa(replicas)}, {Name: "crashProbability", Value: "0.3%"},
				{Name: "restartProbability", Value: "3%"}, {Name: "crashStableTicks", Value: "0"},
				{Name: "wipeProbability", Value: "100%"}, {Name: "requests", Value: "120"}}}
			options, factory, err := Prepare(config)
			if err != nil {
				t.Fatal(err)
			}
			var result Result
			w := newWorld(options, factory, newTrace(nil, nil), &config)
			w.attachStorage()
			w.run(&result)
			if result.Verdict != VerdictPass {
				t.Fatalf("%d replicas, seed %d: %v: %s", replicas, seed, result.Verdict, result.Failure)
			}
			s := w.kernel.Stats()
			wipes += s.Wipes
			wipedMax = max(wipedMax, s.WipedMax)
		}
		quorum := replicas/2 + 1
		t.Logf("%d replicas: %d wipes, at most %d wiped at once (budget %d)", replicas, wipes, wipedMax, replicas-quorum)
		if int(wipedMax) > replicas-quorum || (replicas >= 3 && wipes == 0) || (replicas < 3 && wipes != 0) {
			t.Errorf("%d replicas: %d wipes, %d at once", replicas, wipes, wipedMax)
		}
	}
}

// TestCanWipe: the budget counts a replica from its wipe until it is up and healthy, and a
// replica wiped again while it recovers costs nothing more.
func TestCanWipe(t *testing.T) {
	o := DrawOptions(ProfileCalm, entropy.FromSeed(1).Stream("options"))
	o.Replicas = 5
	healthy := []bool{true, true, true, true, true}
	k := NewKernel(KernelConfig{Options: &o, Entropy: entropy.FromSeed(1), Trace: newTrace(nil, nil),
		Start:   func(env *Env) Node { return &pingNode{env: env, received: &pingCounts{}} },
		Healthy: func(p simnet.Process) bool { return healthy[p] }})
	if k.wipeBudget() != 2 || !k.canWipe(0) {
		t.Fatalf("budget %d", k.wipeBudget())
	}
	k.wipe(0, 1)
	k.wipe(1, 1)
	healthy[0], healthy[1] = false, false
	if k.canWipe(2) || !k.canWipe(1) {
		t.Fatal("a third wipe of five replicas allowed, or a second of one refused")
	}
	k.recoveredFromWipes()
	if k.wipedCount() != 2 {
		t.Fatal("an unhealthy wiped replica stopped counting")
	}
	healthy[1] = true
	k.recoveredFromWipes()
	if k.wipedCount() != 1 || !k.canWipe(2) {
		t.Fatal("a healthy wiped replica still counts")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a wipe beyond the budget did not panic")
		}
	}()
	k.wipe(2, 1)
	k.wipe(3, 1)
}

// TestClusterCrash: clusterCrashProbability crashes every replica at once, counted; at zero
// it never does. Until restart-from-disk lands a cluster cannot come back from one, so only
// the counts are checked, over short runs.
func TestClusterCrash(t *testing.T) {
	for _, p := range []string{"0.1%", "0"} {
		var crashes, whole uint64
		for seed := 1; seed <= 3; seed++ {
			r, err := Run(RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileCalm, Overrides: []Override{
				{Name: "replicas", Value: "3"}, {Name: "clusterCrashProbability", Value: p},
				{Name: "restartProbability", Value: "2%"}, {Name: "ticksMax", Value: "3000"},
				{Name: "livenessTicksMax", Value: "500"}}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict == VerdictCorrectness || r.Verdict == VerdictCrash {
				t.Fatalf("seed %d: %v: %s", seed, r.Verdict, r.Failure)
			}
			crashes, whole = crashes+r.Stats.Crashes, whole+r.Stats.ClusterCrashes
		}
		if (p == "0") != (whole == 0) || crashes < 3*whole {
			t.Fatalf("clusterCrashProbability %s: %d cluster crashes, %d crashes", p, whole, crashes)
		}
	}
}

// TestStorageClassesInTheSwarm: the swarm switches each storage class on for some seeds and
// off for others, and keeps whole-cluster crashes off until restart-from-disk.
func TestStorageClassesInTheSwarm(t *testing.T) {
	on := map[string]int{}
	for seed := uint64(1); seed <= 200; seed++ {
		o := DrawOptions(ProfileSwarm, entropy.FromSeed(seed).Stream("options"))
		for _, f := range faultCounts {
			if f.class >= classLateFirst && f.enabled(&o) {
				on[faultClassNames[f.class]]++
			}
		}
	}
	for class := classLateFirst; class < classCount; class++ {
		name := faultClassNames[class]
		switch {
		case class == classClusterCrash && !restartFromDisk:
			if on[name] != 0 {
				t.Errorf("%s on in %d of 200 seeds before restart-from-disk", name, on[name])
			}
		case on[name] < 20 || on[name] > 180:
			t.Errorf("%s on in %d of 200 seeds", name, on[name])
		}
	}
	t.Logf("storage classes on, of 200 seeds: %v", on)
}
