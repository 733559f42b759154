package sim

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
)

// pingNode is the kernel's test protocol, not the product: every few ticks it pings a
// random process with a checksummed counter; a ping is answered with a pong. It counts what
// it receives and rejects packets whose checksum fails, as a real receiver must.
type pingNode struct {
	env      *Env
	seq      uint64
	received *pingCounts
	buf      [16]byte
}

type pingCounts struct {
	pings, pongs, rejected, started int
}

func (n *pingNode) Tick() {
	if n.env.Rand.Chance(entropy.Percent(20)) {
		target := simnet.Process(n.env.Rand.Int(len(n.env.kernel.procs)))
		n.send(target, 0)
	}
}

func (n *pingNode) send(target simnet.Process, kind byte) {
	n.seq++
	binary.LittleEndian.PutUint64(n.buf[4:], n.seq<<8|uint64(kind))
	binary.LittleEndian.PutUint32(n.buf[12:], uint32(n.env.Process))
	binary.LittleEndian.PutUint32(n.buf[0:], crc32.ChecksumIEEE(n.buf[4:]))
	n.env.Send(target, n.buf[:])
}

func (n *pingNode) Receive(source simnet.Process, data []byte) {
	if len(data) != 16 || binary.LittleEndian.Uint32(data) != crc32.ChecksumIEEE(data[4:]) {
		n.received.rejected++
		return
	}
	if data[4] == 0 {
		n.received.pings++
		n.send(source, 1)
	} else {
		n.received.pongs++
	}
}

// pingWorld runs the test protocol for some ticks under a profile and returns the kernel.
func pingWorld(t *testing.T, seed uint64, profile Profile, ticks int) (*Kernel, *Trace, *pingCounts) {
	t.Helper()
	factory := entropy.FromSeed(seed)
	o := DrawOptions(profile, factory.Stream("options"))
	if profile == ProfileSwarm {
		// Enough crashes to see them in a short run; the cap still keeps a quorum up.
		o.Replicas, o.CrashProbability, o.RestartProbability = 5, entropy.Percent(1), entropy.Percent(5)
		o.CrashStableTicks = 10
	}
	counts := &pingCounts{}
	trace := newTrace(nil, nil)
	k := NewKernel(KernelConfig{Options: &o, Entropy: factory, Trace: trace,
		Start: func(env *Env) Node {
			counts.started++
			return &pingNode{env: env, received: counts}
		}})
	for i := 0; i < ticks; i++ {
		k.Step()
		k.Faults()
		stopped := 0
		for r := 0; r < o.Replicas; r++ {
			if k.State(simnet.Process(r)) != StateUp {
				stopped++
			}
		}
		if stopped > k.stopBudget() {
			t.Fatalf("tick %d: %d replicas stopped, budget %d", k.Now(), stopped, k.stopBudget())
		}
	}
	return k, trace, counts
}

func TestKernelRunsProcessesEndToEnd(t *testing.T) {
	k, _, counts := pingWorld(t, 1, ProfileCalm, 2000)
	s := k.Network().Stats()
	if counts.pings == 0 || counts.pongs == 0 || s.Delivered != uint64(counts.pings+counts.pongs) {
		t.Fatalf("calm: %d pings, %d pongs, %d delivered", counts.pings, counts.pongs, s.Delivered)
	}
	if s.Dropped+s.Corrupted+s.Duplicated+s.Misrouted+s.Clogs+s.Partitions != 0 || k.Stats() != (ProcessStats{}) {
		t.Fatalf("calm profile injected faults: %+v %+v", s, k.Stats())
	}
	if cs := k.ClockStats(); cs != (ClockStats{}) {
		t.Fatalf("calm profile skewed clocks: %+v", cs)
	}
}

func TestKernelInjectsProcessFaults(t *testing.T) {
	crashes, restarts, rejected := uint64(0), uint64(0), 0
	for seed := uint64(1); seed <= 5; seed++ {
		k, _, counts := pingWorld(t, seed, ProfileSwarm, 3000)
		crashes += k.Stats().Crashes
		restarts += k.Stats().Restarts
		rejected += counts.rejected
		if counts.started != k.options.processes()+int(k.Stats().Restarts) {
			t.Fatalf("seed %d: %d nodes started for %d processes and %d restarts",
				seed, counts.started, k.options.processes(), k.Stats().Restarts)
		}
		if k.Network().Stats().Corrupted > 0 && counts.rejected == 0 {
			t.Fatalf("seed %d: corrupted packets reached nodes unnoticed", seed)
		}
	}
	if crashes == 0 || restarts == 0 {
		t.Fatalf("5 swarm seeds: %d crashes, %d restarts", crashes, restarts)
	}
}

func TestKernelSameSeedSameTrace(t *testing.T) {
	_, a, _ := pingWorld(t, 7, ProfileSwarm, 3000)
	_, b, _ := pingWorld(t, 7, ProfileSwarm, 3000)
	_, c, _ := pingWorld(t, 8, ProfileSwarm, 3000)
	if a.Hash() != b.Hash() || a.Events() != b.Events() {
		t.Fatalf("seed 7 twice: %s (%d events) vs %s (%d events)", a.Hash(), a.Events(), b.Hash(), b.Events())
	}
	if a.Hash() == c.Hash() {
		t.Fatalf("seeds 7 and 8 gave the same trace hash %s", a.Hash())
	}
}

func TestHealStopsFaultsAndIsolatesTheRest(t *testing.T) {
	k, _, _ := pingWorld(t, 3, ProfileSwarm, 2000)
	k.Heal([]simnet.Process{0, 1, 2})
	before := k.Stats()
	for i := 0; i < 3000; i++ {
		k.Step()
		k.Faults()
	}
	if k.Stats().Crashes != before.Crashes || k.Stats().Pauses != before.Pauses {
		t.Fatalf("process faults after Heal: %+v then %+v", before, k.Stats())
	}
	for r := simnet.Process(0); r < 3; r++ {
		if k.State(r) != StateUp {
			t.Fatalf("core replica %d is %v after the liveness phase", r, k.State(r))
		}
	}
}

// BenchmarkIdleTick measures the tick loop with nothing to deliver: the floor of a run's
// cost per tick (3 replicas, 5 clients, calm).
func BenchmarkIdleTick(b *testing.B) {
	o := DrawOptions(ProfileCalm, entropy.FromSeed(1).Stream("options"))
	o.Replicas, o.Clients = 3, 5
	k := NewKernel(KernelConfig{Options: &o, Entropy: entropy.FromSeed(1), Trace: newTrace(nil, nil),
		Start: func(env *Env) Node { return idleNode{} }})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Step()
		k.Faults()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
}

type idleNode struct{}

func (idleNode) Tick()                          {}
func (idleNode) Receive(simnet.Process, []byte) {}
