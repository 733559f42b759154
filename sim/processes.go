package sim

import (
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
	"github.com/vsrsim/vsrsim/simnet"
)

// drawClocks gives every process its clock: a skew and a drift within the options' bounds,
// and, when jumps are on, one step on one replica's wall clock at a tick early in the run.
func drawClocks(o *Options, r *entropy.Rand) []simclock.Options {
	clocks := make([]simclock.Options, o.processes())
	for i := range clocks {
		clocks[i].SkewNanos = r.RangeInt64(-o.ClockSkewMaxMs, o.ClockSkewMaxMs) * 1_000_000
		clocks[i].DriftPPM = r.RangeInt64(-o.ClockDriftMaxPPM, o.ClockDriftMaxPPM)
	}
	jumper := r.Int(o.Replicas)
	tick := simclock.Tick(r.Range(1, 1000))
	jump := r.RangeInt64(-o.ClockJumpMaxMs, o.ClockJumpMaxMs) * 1_000_000
	if jump != 0 {
		clocks[jumper].JumpTick, clocks[jumper].JumpNanos = tick, jump
	}
	return clocks
}

// restartFromDisk is the one switch between the two fault models of the scheduler
// (shared/design/faults.md, "Processes"). Off: a restarted replica has lost its state and
// recovers it from its peers (VRR §4.3), so at most f replicas may be stopped or
// recovering at once (canStop), and whole-cluster crashes stay out of the swarm's draw
// (DrawOptions), for no cluster could come back from one. On, once core restarts a replica
// from its own disk: any number of replicas may be down at once, the swarm draws
// whole-cluster crashes, and the scheduler limits only state loss, the wipe budget.
// Turn it on in the commit that lands restart-from-disk, with a swarm run.
const restartFromDisk = false

// crashWritingFactor multiplies crashProbability while a replica has writes in flight: the
// moments a crash tears or loses a write.
const crashWritingFactor = 10

// Faults runs the process-fault scheduler for this tick: whole-cluster crashes, crashes,
// restarts (some on a wiped disk), pauses and resumes of replicas (clients are not
// faulted). Without restartFromDisk a replica is stopped only while more than a quorum of
// the others stay healthy, so the cluster can always make progress once the network lets
// it; with it, any number may stop. Wipes keep within the wipe budget either way.
func (k *Kernel) Faults() {
	o := k.options
	k.recoveredFromWipes()
	if !k.calm && k.faults.Chance(o.ClusterCrashProbability) {
		k.crashCluster()
	}
	k.crashAfterRecoveries()
	for i := 0; i < o.Replicas; i++ {
		p := &k.procs[i]
		switch p.state {
		case StateUp:
			if k.calm {
				continue
			}
			if k.faults.Chance(k.crashProbability(simnet.Process(i))) && k.canStop() {
				k.Crash(simnet.Process(i))
			} else if k.faults.Chance(o.PauseProbability) && k.canStop() {
				k.pause(p, k.faults.ExpTicks(1, max(o.PauseMeanTicks, 1)))
			}
		case StateCrashed:
			stable := p.since+simclock.Tick(o.CrashStableTicks) <= k.now
			if stable && (k.calm || k.faults.Chance(o.RestartProbability)) {
				k.Restart(simnet.Process(i))
			}
		case StatePaused:
			if k.now >= p.until {
				k.resume(p)
			}
		}
	}
}

// Recovered tells the scheduler that a replica has just recovered its state from primary.
// With crashAfterRecoveryProbability the primary then crashes, in this tick's fault step:
// the recovered replica holds the headers of the uncommitted ops but not yet their
// prepares, and may have acknowledged some of them before it crashed, so the view change
// that follows must not count it as never having held them (a nack that could truncate an
// op a quorum held). A crash at an adversarial moment, within the stop budget.
func (k *Kernel) Recovered(primary simnet.Process) {
	if !k.calm && !k.options.CrashAfterRecoveryProbability.IsZero() {
		k.recoveredFrom = append(k.recoveredFrom, primary)
	}
}

// Voted tells the scheduler that a replica has just sent a do_view_change. With
// crashAfterVoteProbability it then crashes, in this tick's fault step: its vote may carry
// the only header of an op whose prepare only it holds (a primary's op that no backup
// received), so the new primary's best log names an op nobody it can reach holds, and the
// view change must prove it uncommitted by a nack quorum and truncate it, or never finish.
// A crash at an adversarial moment, within the stop budget.
func (k *Kernel) Voted(replica simnet.Process) {
	if !k.calm && !k.options.CrashAfterVoteProbability.IsZero() {
		k.votedFrom = append(k.votedFrom, replica)
	}
}

// crashAfterRecoveries runs the crashes Recovered and Voted asked for.
func (k *Kernel) crashAfterRecoveries() {
	for _, primary := range k.recoveredFrom {
		if k.procs[primary].state == StateUp && k.faults.Chance(k.options.CrashAfterRecoveryProbability) &&
			k.canStop() {
			k.Crash(primary)
			k.stats.CrashesAfterRecovery++
		}
	}
	k.recoveredFrom = k.recoveredFrom[:0]
	for _, voter := range k.votedFrom {
		if k.procs[voter].state == StateUp && k.faults.Chance(k.options.CrashAfterVoteProbability) &&
			k.canStop() {
			k.Crash(voter)
			k.stats.CrashesAfterVote++
		}
	}
	k.votedFrom = k.votedFrom[:0]
}

// crashProbability is a running replica's chance to crash this tick: crashProbability,
// times crashWritingFactor while its disk has writes in flight.
func (k *Kernel) crashProbability(p simnet.Process) entropy.Ratio {
	r := k.options.CrashProbability
	if r.IsZero() || k.config.WritesInFlight == nil || !k.config.WritesInFlight(p) {
		return r
	}
	return entropy.Ratio{Num: min(r.Num*crashWritingFactor, r.Den), Den: r.Den}
}

// crashCluster crashes every replica that is not down already, at once: a power loss.
func (k *Kernel) crashCluster() {
	k.stats.ClusterCrashes++
	k.trace.Record(k.now, TraceClusterCrash)
	if k.trace.Writing() {
		k.trace.Line(k.now, "cluster.crash")
	}
	for i := 0; i < k.options.Replicas; i++ {
		if k.procs[i].state != StateCrashed {
			k.Crash(simnet.Process(i))
		}
	}
}

// stopBudget is how many replicas may be stopped at once: f, the faults a cluster of this
// size tolerates.
func (k *Kernel) stopBudget() int { return (k.options.Replicas - 1) / 2 }

// canStop reports whether one more replica may crash or pause now: always, once replicas
// restart from their disks; else while fewer than stopBudget are stopped or unhealthy.
func (k *Kernel) canStop() bool {
	if restartFromDisk {
		return true
	}
	stopped := 0
	for i := 0; i < k.options.Replicas; i++ {
		p := &k.procs[i]
		healthy := p.state == StateUp &&
			(k.config.Healthy == nil || k.config.Healthy(simnet.Process(i)))
		if !healthy {
			stopped++
		}
	}
	return stopped < k.stopBudget()
}

// Crash stops a process and loses its volatile state.
func (k *Kernel) Crash(target simnet.Process) {
	p := &k.procs[target]
	if p.state == StateCrashed {
		panic("sim: crash of a crashed process")
	}
	if p.state == StatePaused {
		k.net.SetHeld(target, false)
	}
	p.state, p.since, p.node = StateCrashed, k.now, nil
	k.net.SetDown(target, true)
	if k.config.Crashed != nil {
		k.config.Crashed(target)
	}
	k.stats.Crashes++
	k.trace.Record(k.now, TraceCrash, uint64(target))
	if k.trace.Writing() {
		k.trace.Line(k.now, "crash p%d", target)
	}
}

// Restart starts a crashed process again: a replica on its disk, or, with wipeProbability
// and within the wipe budget, on a new empty one (wipes.go).
func (k *Kernel) Restart(target simnet.Process) {
	p := &k.procs[target]
	if p.state != StateCrashed {
		panic("sim: restart of a process that is not crashed")
	}
	p.state, p.since = StateUp, k.now
	k.net.SetDown(target, false)
	k.stats.Restarts++
	k.trace.Record(k.now, TraceRestart, uint64(target))
	if k.trace.Writing() {
		k.trace.Line(k.now, "restart p%d life=%d", target, p.env.Life+1)
	}
	if int(target) < k.options.Replicas && !k.calm && k.faults.Chance(k.options.WipeProbability) &&
		k.canWipe(target) {
		k.wipe(target, p.env.Life+1)
	}
	k.start(p, p.env.Life+1)
}

func (k *Kernel) pause(p *process, ticks uint64) {
	p.state, p.since, p.until = StatePaused, k.now, k.now+simclock.Tick(ticks)
	k.net.SetHeld(p.env.Process, true)
	k.stats.Pauses++
	k.trace.Record(k.now, TracePause, uint64(p.env.Process), ticks)
	if k.trace.Writing() {
		k.trace.Line(k.now, "pause p%d ticks=%d", p.env.Process, ticks)
	}
}

func (k *Kernel) resume(p *process) {
	p.state, p.since = StateUp, k.now
	k.net.SetHeld(p.env.Process, false)
	k.trace.Record(k.now, TraceResume, uint64(p.env.Process))
	if k.trace.Writing() {
		k.trace.Line(k.now, "resume p%d", p.env.Process)
	}
}

// Heal begins the liveness phase: the network stops injecting faults, no new process fault
// happens, and the replicas of core that are down come back at once. Replicas outside the
// core are cut off from everyone.
func (k *Kernel) Heal(core []simnet.Process) {
	k.calm = true
	k.net.Heal()
	if k.config.HealStorage != nil {
		k.config.HealStorage()
	}
	inCore := make([]bool, len(k.procs))
	for _, p := range core {
		inCore[p] = true
	}
	for i := 0; i < k.options.Replicas; i++ {
		p := &k.procs[i]
		if !inCore[i] {
			k.net.Isolate(simnet.Process(i))
			continue
		}
		switch p.state {
		case StatePaused:
			k.resume(p)
		case StateCrashed:
			k.Restart(simnet.Process(i))
		}
	}
}

// ClockStats sums up what the clocks did by the end of the run.
type ClockStats struct {
	MaxSkewMs int64  `json:"max_skew_ms"`
	Jumps     uint64 `json:"jumps"`
}

// ClockStats reports the largest wall clock offset any process showed and how many clocks
// have jumped so far.
func (k *Kernel) ClockStats() ClockStats {
	var s ClockStats
	for i := range k.procs {
		c := k.procs[i].clock
		s.MaxSkewMs = max(s.MaxSkewMs, c.MaxOffsetNanos(k.now)/1_000_000)
		if c.Jumped(k.now) {
			s.Jumps++
		}
	}
	return s
}
