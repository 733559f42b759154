package sim

import (
	"fmt"
	"io"
	"strings"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// World is one simulated VSR cluster: replicas and clients on the kernel, the workload, and
// the checkers that watch them.
type World struct {
	options Options
	config  core.Config
	entropy entropy.Factory
	kernel  *Kernel
	trace   *Trace
	verbose io.Writer

	replicas      []*core.Replica    // by index; the latest incarnation
	disks         []*simstorage.Disk // by index, kept across restarts (nodes.go)
	atlas         *simstorage.Atlas
	clientProcess map[core.ClientID]simnet.Process
	workload      *workload
	commits       *checker.Commits
	model         *checker.Model
	normalViewMax []core.View // per replica, across restarts
	// Checkpoints: the highest op each replica's durable checkpoint reached (across its
	// lives), and the identity of the first checkpoint seen at each op (checks.go).
	checkpointOp  []core.Op
	checkpointIDs map[core.Op]core.CheckpointID
	// rejoining: per replica, restarted and not yet normal since (nodes.go's start).
	rejoining []bool
	// Per replica: it had a durable root in some life (core.Replica.Promised). Until then a
	// restart is a fresh start again, whatever its disk holds (nodes.go).
	promised    []bool
	sentDecoder *core.Decoder // for the messages replicas send (acks.go)
	quorum      quorumState   // what is committed in fact (quorum.go)

	stateMachine func(replica int) core.StateMachine
	unchecked    bool      // no checkers: only to measure what they cost
	coverage     *coverage // protocol situations for a fuzzer (coverage.go); nil for none

	observed          []replicaStatus // per replica, as of the last tick: to trace changes
	viewStarted       core.View       // the highest view some primary started
	stats             Stats
	violations        []checker.Violation
	phase             string // "safety" or "liveness"
	livenessAt        uint64 // tick at which the liveness phase began
	core              []simnet.Process
	pendingAtLiveness int
	livenessBound     uint64 // ticks the core has to converge: the option, plus time to repair
	served            uint64 // operations the healed core answered (serving.go)
}

// repairTicksPerOp is the liveness phase's allowance per op a core replica must repair or
// execute before it can converge: twice the pace repair keeps (about 0.4 ops a tick).
const repairTicksPerOp = 5

// repairLag is how far the core's slowest replica is behind the canonical history.
func (w *World) repairLag() uint64 {
	var lag uint64
	for _, p := range w.core {
		behind := uint64(w.model.Ops())
		if w.kernel.State(p) != StateCrashed {
			behind -= min(behind, uint64(w.replicas[p].CommitMin()))
		}
		lag = max(lag, behind)
	}
	return lag
}

type replicaStatus struct {
	status    core.Status
	view      core.View
	op        core.Op
	commitMin core.Op
	up        bool
}

// newWorld builds a world from valid options and the run's configuration.
func newWorld(options Options, factory entropy.Factory, trace *Trace, config *RunConfig) *World {
	w := &World{options: options, entropy: factory, trace: trace, verbose: config.Verbose,
		stateMachine: config.StateMachine, unchecked: config.uncheckedForBenchmark,
		replicas: make([]*core.Replica, options.Replicas), clientProcess: make(map[core.ClientID]simnet.Process),
		observed: make([]replicaStatus, options.Replicas), rejoining: make([]bool, options.Replicas),
		promised: make([]bool, options.Replicas),
		phase:    "safety"}
	w.config = options.coreConfig(factory.Stream("cluster").Uint64())
	w.config.Bugs = config.Bugs
	if config.Coverage != nil {
		w.coverage = newCoverage(config.Coverage, options.Replicas)
	}
	w.initCheckers()
	w.workload = newWorkload(w, factory.Stream("workload"))
	w.kernel = NewKernel(KernelConfig{Options: &w.options, Entropy: factory, Trace: trace,
		Start: w.start, Healthy: w.healthy, Crashed: w.crashed})
	return w
}

func (w *World) newStateMachine(replica int) core.StateMachine {
	if w.stateMachine != nil {
		return w.stateMachine(replica)
	}
	return core.NewKV()
}

// healthy reports whether a running replica holds its whole log (see core.Replica.Healthy).
func (w *World) healthy(p simnet.Process) bool { return w.replicas[p].Healthy() }

// step runs one tick of the whole world, in the order of the package doc.
func (w *World) step() {
	w.kernel.Step()
	w.observe()
	if w.coverage != nil {
		w.coverage.observe(w)
	}
	w.workload.tick(w.kernel.Now())
	w.kernel.Faults()
}

// observe checks and traces every running replica after the tick.
func (w *World) observe() {
	for i, r := range w.replicas {
		state := w.kernel.State(simnet.Process(i))
		up := state != StateCrashed
		seen := replicaStatus{up: up}
		if up {
			seen = replicaStatus{status: r.Status(), view: r.View(), op: r.Op(), commitMin: r.CommitMin(), up: true}
			if !w.unchecked {
				w.checkReplica(i, r)
			}
		}
		if seen != w.observed[i] {
			w.statusChanged(i, w.observed[i], seen)
			w.observed[i] = seen
		}
	}
	if !w.unchecked {
		w.checkReplies()
		w.notePrimariesHold()
	}
}

func (w *World) statusChanged(i int, before, after replicaStatus) {
	now := w.kernel.Now()
	w.trace.Record(now, TraceStatus, uint64(i), uint64(after.status)<<1|b2u(after.up),
		uint64(after.view), uint64(after.op)<<32|uint64(after.commitMin))
	if after.up && after.status == core.StatusNormal && after.view > w.viewStarted &&
		w.config.Replicas > 0 && int(uint64(after.view)%uint64(w.config.Replicas)) == i {
		w.viewStarted = after.view
		w.stats.ViewChanges++
	}
	if after.up && after.status == core.StatusNormal && (w.rejoining[i] ||
		before.up && before.status == core.StatusRecovering) {
		// Rejoined, by a recovery from its peers or a restart from its disk: the primary it
		// rejoined through may crash at once (crashAfterRecoveryProbability).
		if before.status == core.StatusRecovering {
			w.stats.Recoveries++
		}
		w.rejoining[i] = false
		if primary := int(uint64(after.view) % uint64(w.config.Replicas)); primary != i {
			w.kernel.Recovered(simnet.Process(primary))
		}
	}
	if w.trace.Writing() || w.verbose != nil {
		line := fmt.Sprintf("replica %d %s view=%d op=%d commit=%d", i, describeStatus(after), after.view, after.op, after.commitMin)
		if w.trace.Writing() {
			w.trace.Line(now, "%s", line)
		}
		if w.verbose != nil && (before.status != after.status || before.view != after.view || before.up != after.up) {
			fmt.Fprintf(w.verbose, "%8d %s\n", now, line)
		}
	}
}

func describeStatus(s replicaStatus) string {
	if !s.up {
		return "down"
	}
	return s.status.String()
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// converged reports whether the liveness phase is over: every core replica is up, normal,
// in one view, holds its whole log and executed the same ops to the same state, and every
// client request has its answer.
func (w *World) converged() bool {
	if !w.workload.done() {
		return false
	}
	first := w.replicas[w.core[0]]
	for _, p := range w.core {
		r := w.replicas[p]
		if w.kernel.State(p) != StateUp || r.Status() != core.StatusNormal || !r.Healthy() ||
			r.View() != first.View() || r.CommitMin() != r.CommitMax() || r.CommitMin() != first.CommitMin() ||
			r.Op() != r.CommitMin() || r.Digest() != first.Digest() {
			return false
		}
	}
	return true
}

// coreMissesPrepare reports whether the liveness core lacks a prepare that a replica
// outside it has on disk, at an op up to the highest any core replica knows of: the core
// may not be able to go on without it (TigerBeetle's simulator excuses such a core too).
// A committed op's quorum always keeps an intact copy (the atlas), but a crash tears the
// writes in flight, and a header sector torn while its neighbour's prepare was in flight
// leaves an op no disk can prove unacknowledged: a core replica abstains on it, and only
// the replica outside may hold it.
func (w *World) coreMissesPrepare() bool {
	inCore := make([]bool, w.options.Replicas)
	var head core.Op
	for _, p := range w.core {
		inCore[p] = true
		head = max(head, w.replicas[p].Op())
	}
	for op := core.Op(1); op <= head; op++ {
		held := false
		for _, p := range w.core {
			_, h, _ := w.replicas[p].PrepareAt(op)
			held = held || h
		}
		if held {
			continue
		}
		for i := 0; i < w.options.Replicas; i++ {
			if _, _, onDisk := w.replicas[i].PrepareAt(op); !inCore[i] && onDisk {
				return true
			}
		}
	}
	return false
}

// extendLiveness makes every replica the core, heals them all, and gives the liveness
// phase its bound again.
func (w *World) extendLiveness() {
	w.stats.LivenessExtended++
	w.core = w.core[:0]
	for i := 0; i < w.options.Replicas; i++ {
		w.core = append(w.core, simnet.Process(i))
	}
	w.livenessBound += w.options.LivenessTicksMax + repairTicksPerOp*w.repairLag()
	now := w.kernel.Now()
	w.trace.Record(now, TracePhase, uint64(len(w.core)))
	if w.trace.Writing() {
		w.trace.Line(now, "phase liveness.extended core=%v", w.core)
	}
	w.kernel.Heal(w.core)
}

// livenessReport says what had not converged when the liveness phase ran out.
func (w *World) livenessReport() string {
	return fmt.Sprintf("core did not converge in %d ticks: %s", w.livenessBound, w.coreReport())
}

// coreReport says where each core replica stands, and the workload.
func (w *World) coreReport() string {
	var parts []string
	for _, p := range w.core {
		r := w.replicas[p]
		if w.kernel.State(p) != StateUp {
			parts = append(parts, fmt.Sprintf("replica %d %v", p, w.kernel.State(p)))
			continue
		}
		parts = append(parts, fmt.Sprintf("replica %d %v view %d op %d commit %d/%d healthy=%v",
			p, r.Status(), r.View(), r.Op(), r.CommitMin(), r.CommitMax(), r.Healthy()))
	}
	return fmt.Sprintf("%s; %d requests pending, %d of %d answered", strings.Join(parts, "; "),
		w.workload.pending(), w.workload.replies, w.workload.budget)
}

// startLiveness heals a core of replicas: at least a replication quorum, so that it can
// commit on its own. A replica that recovers from its peers (wiped, or its root lost) needs
// a quorum that kept their state, so the core is drawn from the replicas that have their
// state first (up, not recovering and not still opening their disk; one that merely lags
// repairs itself), then from those that will have it once they restart or finish opening
// (not wiped: their disks hold their state), then from the rest. The wipe budget leaves a
// quorum of the first two kinds; a core short of it could neither start a view (a
// recovering replica does not vote) nor let its recovering members recover.
func (w *World) startLiveness() {
	r := w.entropy.Stream("liveness")
	size := min(w.config.QuorumReplication()+w.options.LivenessCoreExtras, w.options.Replicas)
	var healthy, whole, rest []simnet.Process
	for i := 0; i < w.options.Replicas; i++ {
		p := simnet.Process(i)
		status := w.replicas[i].Status()
		switch {
		case w.kernel.State(p) != StateCrashed && status != core.StatusRecovering && status != core.StatusOpening:
			healthy = append(healthy, p)
		case !w.kernel.Wiped(p) && status != core.StatusRecovering:
			whole = append(whole, p)
		default:
			rest = append(rest, p)
		}
	}
	r.Shuffle(len(healthy), func(i, j int) { healthy[i], healthy[j] = healthy[j], healthy[i] })
	r.Shuffle(len(whole), func(i, j int) { whole[i], whole[j] = whole[j], whole[i] })
	r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	w.core = append(append(healthy, whole...), rest...)[:size]
	w.phase = "liveness"
	w.livenessAt = uint64(w.kernel.Now())
	w.livenessBound = w.options.LivenessTicksMax + repairTicksPerOp*w.repairLag()
	w.workload.closed = true
	w.pendingAtLiveness = w.workload.pending()
	now := w.kernel.Now()
	w.trace.Record(now, TracePhase, uint64(size))
	if w.trace.Writing() {
		w.trace.Line(now, "phase liveness core=%v", w.core)
	}
	w.kernel.Heal(w.core)
}
