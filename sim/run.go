package sim

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// RunConfig says what to run: a seed (or a byte string standing in for the seed's
// streams), a profile, overrides of the options the profile draws, and where to write.
type RunConfig struct {
	Seed      string // as the user gave it: decimal or a 40-hex commit SHA
	Profile   Profile
	Overrides []Override
	Entropy   []byte    // when not nil, every random decision reads from these bytes
	Trace     io.Writer // the text trace; nil for none
	Verbose   io.Writer // status changes as they happen; nil for none
	// EntropyMode says how Entropy stands in for the seed's streams: ModeBytes (the zero
	// value) reads every draw from it; ModeSteer steers the seed's streams with it, so
	// Seed must parse, and a nil Entropy is the seed's steered run with nothing steered.
	EntropyMode entropy.Mode
	// StateMachine builds each replica's state machine; nil is the reference key-value
	// store. The workload and the linearizability checker speak key-value, so another state
	// machine must accept core.KVInput encodings (a deliberately faulty store, say).
	StateMachine func(replica int) core.StateMachine
	// Bugs builds every replica with deliberate defects (core.Bug): to show the checkers
	// find them. A run with a bug is expected to fail.
	Bugs core.Bug
	// Coverage, when not nil, hears each protocol situation the run reaches, once per run
	// (coverage.go): a fuzzer's signal of protocol state. A run without it pays a nil check.
	Coverage func(signature uint64)

	uncheckedForBenchmark bool // measure the world without its checkers; tests only
}

// Prepare resolves a run's seed and options without running it. Its errors are bad input.
func Prepare(config RunConfig) (Options, entropy.Factory, error) {
	factory, err := config.streams()
	if err != nil {
		return Options{}, nil, err
	}
	options := DrawOptions(config.Profile, factory.Stream("options"))
	if err := options.Apply(config.Overrides); err != nil {
		return Options{}, nil, err
	}
	if err := options.Validate(); err != nil {
		return Options{}, nil, err
	}
	return options, factory, nil
}

// Run runs one simulation: the safety phase, then the liveness phase. An error means the
// input was bad; every outcome of the simulation itself, a panic included, is a Result.
func Run(config RunConfig) (Result, error) {
	options, factory, err := Prepare(config)
	if err != nil {
		return Result{}, err
	}
	trace := newTrace(config.Trace, nil)
	result := Result{Seed: config.Seed, Profile: config.Profile.String(), Options: options, Bugs: config.Bugs.String()}
	var w *World
	func() {
		defer func() {
			if recovered := recover(); recovered != nil {
				stack := string(debug.Stack())
				result.Verdict, result.Stack = VerdictCrash, stack
				result.Failure = firstLine(fmt.Sprintf("panic: %v", recovered))
				var now uint64
				if w != nil && w.kernel != nil {
					now = uint64(w.kernel.Now())
				}
				trace.Text(0, TracePanic, fmt.Sprintf("tick %d: panic: %v\n%s", now, recovered, stack))
			}
		}()
		w = newWorld(options, factory, trace, &config)
		w.attachStorage()
		if trace.Writing() {
			decoder := core.NewDecoder(w.config.Cluster, w.config.Replicas)
			trace.describe = decoder.Describe
		}
		w.run(&result)
	}()
	if w != nil {
		w.fillStats(&result)
	}
	result.TraceHash = trace.Hash()
	result.Stats.TraceEvents = trace.Events()
	if err := trace.Close(); err != nil {
		return result, fmt.Errorf("writing the trace: %v", err)
	}
	return result, nil
}

func firstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return line
}

// run drives both phases and sets the verdict.
func (w *World) run(result *Result) {
	for !w.workload.done() && uint64(w.kernel.Now()) < w.options.TicksMax {
		w.step()
		if len(w.violations) > 0 {
			w.fail(result, VerdictCorrectness)
			return
		}
	}
	w.stats.SafetyTicks = uint64(w.kernel.Now())
	w.startLiveness()
	for extended := false; ; extended = true {
		for uint64(w.kernel.Now())-w.livenessAt < w.livenessBound {
			w.step()
			if len(w.violations) > 0 {
				w.fail(result, VerdictCorrectness)
				return
			}
			if w.converged() {
				w.finish(result)
				return
			}
		}
		if extended || !w.coreMissesPrepare() {
			break
		}
		w.extendLiveness()
	}
	result.Verdict = VerdictLiveness
	result.Failure = w.livenessReport()
}

// finish serves the healed core's share of the workload (serving.go), then runs the
// checks of the whole run.
func (w *World) finish(result *Result) {
	failure := w.serve()
	if len(w.violations) > 0 {
		w.fail(result, VerdictCorrectness)
		return
	}
	if failure != "" {
		result.Verdict, result.Failure = VerdictLiveness, failure
		return
	}
	w.checkEnd()
	if len(w.violations) > 0 {
		w.fail(result, VerdictCorrectness)
		return
	}
	result.Verdict = VerdictPass
}

func (w *World) fail(result *Result, verdict Verdict) {
	result.Verdict = verdict
	for _, v := range w.violations {
		result.Violations = append(result.Violations, v.String())
	}
	result.Failure = result.Violations[0]
	result.Invariant = w.violations[0].Invariant
}

func (w *World) fillStats(result *Result) {
	s := w.stats
	s.LivenessTicks = uint64(w.kernel.Now()) - w.livenessAt
	if w.phase == "safety" {
		s.SafetyTicks, s.LivenessTicks = uint64(w.kernel.Now()), 0
	}
	s.Replicas, s.Clients = w.options.Replicas, w.options.Clients
	s.Requests = uint64(w.workload.issued)
	s.Replies, s.Evictions = w.workload.replies, w.workload.evicted
	s.RequestsCommitted = w.requestsCommitted()
	s.OpsCommitted = uint64(w.model.Ops())
	ps := w.kernel.Stats()
	s.Crashes, s.Restarts, s.Pauses = ps.Crashes, ps.Restarts, ps.Pauses
	s.CrashesAfterRecovery = ps.CrashesAfterRecovery
	s.CrashesAfterVote = ps.CrashesAfterVote
	s.Wipes, s.ClusterCrashes = ps.Wipes, ps.ClusterCrashes
	s.Storage = w.storageStats()
	for _, r := range w.replicas {
		if r != nil {
			s.StateTransfers += r.Stats().StateTransfers // the lives still running
		}
	}
	s.Network = w.kernel.Network().Stats()
	s.Clock = w.kernel.ClockStats()
	result.Stats = s
	result.Ticks = uint64(w.kernel.Now())
	result.Vacuity = vacuity(&w.options, &result.Stats)
	result.History = w.workload.history
	result.Liveness.Excuses = map[string]uint64{}
	if w.phase == "liveness" {
		result.Liveness.Reached, result.Liveness.Ticks = true, s.LivenessTicks
		result.Liveness.Converged = result.Verdict == VerdictPass
		for _, p := range w.core {
			result.Liveness.Core = append(result.Liveness.Core, int(p))
		}
		result.Liveness.Pending = w.pendingAtLiveness
		result.Liveness.Served = w.served
		result.Liveness.OutcomeTicksMax = w.workload.outcomeTicksMax
		result.Liveness.ServingGapTicksMax = w.workload.servingGapTicksMax
	}
}

// requestsCommitted counts the client requests in the canonical history that ran through
// the state machine (registers and duplicates excluded), as the checker saw them commit.
func (w *World) requestsCommitted() uint64 {
	var count uint64
	for _, r := range w.replicas {
		if r != nil {
			count = max(count, r.RequestsExecuted())
		}
	}
	return count
}

// coreConfig is the VSR configuration the options give.
func (o *Options) coreConfig(cluster uint64) core.Config {
	c := core.DefaultConfig(cluster, o.Replicas)
	c.PipelineMax, c.BatchMax, c.ClientTableMax = o.PipelineMax, o.BatchMax, o.ClientTableMax
	c.CheckpointOps, c.JournalSlots = o.CheckpointOps, o.JournalSlots
	return c
}
