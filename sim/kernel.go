package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// Node is a simulated process as the kernel drives it: the VSR replica and client
// implement it, and so does the small protocol of the kernel's tests. Receive gets the
// bytes of one packet, valid only during the call; Tick is one unit of virtual time.
type Node interface {
	Tick()
	Receive(source simnet.Process, data []byte)
}

// Env is what a node may use of the world: its own address, the network, its own clock and
// its own random stream.
type Env struct {
	Process simnet.Process
	Life    int // incarnation: 0 at start, +1 at every restart
	// Wiped: this replica's disk was replaced by an empty one (wipes.go) and it has not
	// recovered its state since; it must start recovering from its peers, not from its disk.
	Wiped  bool
	kernel *Kernel
	Rand   *entropy.Rand
}

// Send hands a copy of data to the network.
func (e *Env) Send(target simnet.Process, data []byte) {
	e.kernel.net.Send(e.Process, target, data)
}

// Now is the global tick.
func (e *Env) Now() simclock.Tick { return e.kernel.now }

// Monotonic reads the process's monotonic clock, in nanoseconds.
func (e *Env) Monotonic() int64 { return e.kernel.procs[e.Process].clock.Monotonic(e.kernel.now) }

// Realtime reads the process's wall clock, in Unix nanoseconds.
func (e *Env) Realtime() int64 { return e.kernel.procs[e.Process].clock.Realtime(e.kernel.now) }

// ProcessState is what the fault scheduler has done to a process.
type ProcessState uint8

const (
	StateUp ProcessState = iota
	StateCrashed
	StatePaused
)

func (s ProcessState) String() string { return [...]string{"up", "crashed", "paused"}[s] }

type process struct {
	node  Node
	env   *Env
	clock *simclock.Clock
	state ProcessState
	since simclock.Tick // tick of the last change of state
	until simclock.Tick // end of a pause
}

// KernelConfig is what a kernel is built from.
type KernelConfig struct {
	Options *Options
	Entropy entropy.Factory
	Trace   *Trace
	// Start builds a process's node from nothing: at the beginning and after a crash.
	Start func(env *Env) Node
	// Healthy reports whether a running replica counts towards progress (a replica that is
	// still recovering its state does not). Nil: every running replica does.
	Healthy func(p simnet.Process) bool
	// Crashed hears that a process crashed, after its node is gone (a replica's disk loses
	// its writes in flight). Nil: nothing to tell.
	Crashed func(p simnet.Process)
	// Wipe replaces a replica's disk by a new, empty one before it starts that life, and
	// returns the old disk's counts (they stay in the run's stats). Nil: no disks.
	Wipe func(p simnet.Process, life int) simstorage.Stats
	// WritesInFlight reports whether a replica's disk has writes in flight. Nil: never.
	WritesInFlight func(p simnet.Process) bool
	// HealStorage ends the atlas's storage faults, as the liveness phase begins. Nil: none.
	HealStorage func()
}

// Kernel is the simulated world without the system under test: time, the network, clocks,
// processes and their faults. One goroutine; Step is one tick.
type Kernel struct {
	config  KernelConfig
	options *Options
	now     simclock.Tick
	net     *simnet.Network
	procs   []process
	faults  *entropy.Rand
	trace   *Trace
	stats   ProcessStats
	calm    bool // the liveness phase: no new process faults
	// Primaries replicas recovered from in this tick (Recovered), for the fault step.
	recoveredFrom []simnet.Process
	votedFrom     []simnet.Process // replicas that just sent a do_view_change (Voted)
	// Per replica: wiped and not yet recovered (wipes.go). Invariant: at most wipeBudget.
	wiped          []bool
	storageRetired simstorage.Stats // the counts of disks replaced by wipes
	jumps          []simclock.Tick  // ticks at which some wall clock steps, to trace them

	deliverFunc func(source, target simnet.Process, data []byte)
}

// ProcessStats counts process faults.
type ProcessStats struct {
	Crashes uint64 `json:"crashes"`
	// Crashes of a primary as a replica recovered from it (crashAfterRecoveryProbability),
	// counted in Crashes too.
	CrashesAfterRecovery uint64 `json:"crashes_after_recovery"`
	// Crashes of a replica right after it sent a do_view_change (crashAfterVoteProbability),
	// counted in Crashes too.
	CrashesAfterVote uint64 `json:"crashes_after_vote"`
	Restarts         uint64 `json:"restarts"`
	Pauses           uint64 `json:"pauses"`
	Wipes            uint64 `json:"wipes"`           // restarts on an empty disk
	ClusterCrashes   uint64 `json:"cluster_crashes"` // every replica crashed at once
	WipedMax         uint64 `json:"-"`               // most replicas wiped at once, for tests
}

// NewKernel builds the world's processes and starts them.
func NewKernel(config KernelConfig) *Kernel {
	o := config.Options
	if err := o.Validate(); err != nil {
		panic(fmt.Sprintf("sim: invalid options: %v", err))
	}
	k := &Kernel{config: config, options: o, trace: config.Trace,
		faults: config.Entropy.Stream("faults"), wiped: make([]bool, o.Replicas)}
	k.net = simnet.New(o.network(), config.Entropy.Stream("simnet"), k.observeNet)
	k.deliverFunc = k.deliver
	clocks := drawClocks(o, config.Entropy.Stream("clocks"))
	k.procs = make([]process, o.processes())
	for i := range k.procs {
		p := &k.procs[i]
		p.clock = simclock.New(clocks[i])
		if clocks[i].JumpTick != 0 {
			k.jumps = append(k.jumps, clocks[i].JumpTick)
		}
		p.env = &Env{Process: simnet.Process(i), kernel: k}
		k.start(p, 0)
	}
	return k
}

func (k *Kernel) start(p *process, life int) {
	p.env = &Env{Process: p.env.Process, Life: life, kernel: k,
		Wiped: int(p.env.Process) < len(k.wiped) && k.wiped[p.env.Process],
		Rand:  k.config.Entropy.Stream(fmt.Sprintf("process.%d.life.%d", p.env.Process, life))}
	p.node = k.config.Start(p.env)
}

// Now is the current tick.
func (k *Kernel) Now() simclock.Tick { return k.now }

// Network is the packet simulator.
func (k *Kernel) Network() *simnet.Network { return k.net }

// Stats counts process faults so far.
func (k *Kernel) Stats() ProcessStats { return k.stats }

// StorageRetired is the counts of the disks wipes replaced, summed.
func (k *Kernel) StorageRetired() simstorage.Stats { return k.storageRetired }

// State reports a process's state.
func (k *Kernel) State(p simnet.Process) ProcessState { return k.procs[p].state }

// Wiped reports whether replica p was wiped and has not yet recovered its state (wipes.go).
func (k *Kernel) Wiped(p simnet.Process) bool { return k.wiped[p] }

// Node returns a process's current node, nil while crashed.
func (k *Kernel) Node(p simnet.Process) Node { return k.procs[p].node }

// Step runs one tick: deliver what is due, move network faults on, tick clients, then
// replicas. The caller runs checkers and the workload, then calls Faults.
func (k *Kernel) Step() {
	k.now++
	k.net.Deliver(k.now, k.deliverFunc)
	k.net.Advance(k.now)
	for _, jump := range k.jumps {
		if jump == k.now {
			k.traceJumps()
		}
	}
	replicas := k.options.Replicas
	for i := replicas; i < len(k.procs); i++ {
		k.tick(&k.procs[i])
	}
	for i := 0; i < replicas; i++ {
		k.tick(&k.procs[i])
	}
}

func (k *Kernel) tick(p *process) {
	if p.state == StateUp {
		p.node.Tick()
	}
}

func (k *Kernel) deliver(source, target simnet.Process, data []byte) {
	p := &k.procs[target]
	if p.state != StateUp {
		panic(fmt.Sprintf("sim: packet delivered to %v process %d", p.state, target))
	}
	p.node.Receive(source, data)
}

func (k *Kernel) traceJumps() {
	for i := range k.procs {
		o := k.procs[i].clock.Options()
		if o.JumpTick == k.now {
			k.trace.Record(k.now, TraceClockJump, uint64(i), uint64(o.JumpNanos))
			if k.trace.Writing() {
				k.trace.Line(k.now, "clock.jump p%d by %dms", i, o.JumpNanos/1_000_000)
			}
		}
	}
}
