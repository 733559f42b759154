package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/core"
)

// What a healed cluster promises its clients. Once the liveness core has converged it must
// serve: what is left of the run's requests, and at least one request per client more, so
// that every run asks this of its healed core, not only the runs whose faults kept the
// safety phase from its budget. While it serves:
//
//   - every operation has an outcome within outcomeTicksMax of its invocation: a reply, or,
//     when its client's session is evicted from a client table with fewer sessions than
//     clients, an eviction notice (the client then registers again under a new identity and
//     goes on with its next operation);
//   - the cluster keeps serving: some operation is answered at least every
//     servingGapTicksMax, so clients that evict each other's sessions forever (registers
//     commit, requests never do) are a liveness failure, not a slow run;
//   - the whole of it takes at most LivenessTicksMax and drainTicksPerRequest per operation.
//
// A client table with fewer sessions than clients promises no fairness: one client may be
// evicted again and again while others are served. It promises an outcome to every
// operation, and service to someone.

// drainTicksPerRequest bounds the healed core's time per operation: generous, since the
// workload's own think time and retries count against it.
const drainTicksPerRequest = 400

// serve runs the healed core's share of the workload. It returns a liveness failure, or ""
// when the core served it all (or a safety violation stopped it: the caller looks).
func (w *World) serve() string {
	wl := w.workload
	if !wl.done() || wl.pending() != 0 {
		panic("sim: serving before the workload in flight is settled")
	}
	start := w.kernel.Now()
	left := wl.budget - min(wl.replies, wl.budget)
	asked := max(left, uint64(w.options.Clients))
	wl.budget, wl.closed, wl.serving, wl.repliedAt = wl.replies+asked, false, true, start
	answeredBefore := wl.replies
	outcomeMax, gapMax := w.servingBounds()
	// The whole share, plus the longest wait one operation may see: so that a client that
	// no longer gets anywhere is named by the per-operation bounds, not hidden in the total.
	bound := w.options.LivenessTicksMax + asked*drainTicksPerRequest + outcomeMax
	for !(wl.done() && w.converged()) {
		now := w.kernel.Now()
		if uint64(now-start) >= bound {
			return fmt.Sprintf("the healed core answered %d of %d requests in %d ticks: %s",
				wl.replies-answeredBefore, asked, bound, w.coreReport())
		}
		w.step()
		if len(w.violations) > 0 {
			return ""
		}
		if problem := w.servingProblem(outcomeMax, gapMax); problem != "" {
			return problem
		}
	}
	w.served = wl.replies - answeredBefore
	return ""
}

// servingBounds are the waits a healed core's clients may see. A client retries a request
// after at most ClientRequestMax ticks; after evictions in a row it waits before
// registering again, at most twice ClientRequestTicks << (EvictedInARowMax−1)
// (core.Client.onEviction); an operation then takes a register and a request. Both bounds
// leave a margin of four over that (51,200 ticks with the default timeouts; 20,480 when the
// doubling stopped at 6, where 400 swarm seeds, a fifth of them crowded, showed at most
// 2,581 and 1,729), so that an alarm means a client that no longer gets anywhere.
func (w *World) servingBounds() (outcome, gap uint64) {
	evictionWait := 2 * (w.config.ClientRequestTicks << (core.EvictedInARowMax - 1))
	outcome = 4 * (evictionWait + 4*w.config.ClientRequestMax)
	return outcome, outcome
}

// servingProblem reports an operation waiting past its bound, or a cluster that stopped
// answering.
func (w *World) servingProblem(outcomeMax, gapMax uint64) string {
	wl := w.workload
	now := w.kernel.Now()
	for i := range wl.slots {
		s := &wl.slots[i]
		if s.current >= 0 && uint64(now-s.since) > outcomeMax {
			return fmt.Sprintf("client %d's operation invoked at tick %d has had neither a reply nor an "+
				"eviction for %d ticks (client table %d, clients %d): %s", i, s.since, uint64(now-s.since),
				w.config.ClientTableMax, w.options.Clients, w.coreReport())
		}
	}
	if !wl.done() && uint64(now-wl.repliedAt) > gapMax {
		return fmt.Sprintf("the healed core answered nothing for %d ticks with %d operations waiting, %d "+
			"evictions so far (client table %d, clients %d): %s", uint64(now-wl.repliedAt), wl.pending(),
			wl.evicted, w.config.ClientTableMax, w.options.Clients, w.coreReport())
	}
	return ""
}
