package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
)

// The world's checkers, run every tick (shared/design/checkers.md): one history and the
// hash chain (checker.Commits); an independent model replaying the canonical history
// (checker.Model: no phantoms, exactly once, convergence of every replica's state); each
// reply checked as it arrives (durability, linearizability of its result); a replica never
// normal in a view below one it was normal in (it never takes back a prepare_ok); every
// acknowledgement and view-change vote checked against its sender's state as it is sent
// (acks.go); and, at the end, the real-time order of the whole client history.

// initCheckers wires the checkers of a new world.
func (w *World) initCheckers() {
	root, _ := core.RootPrepare(w.config.Cluster)
	w.commits = checker.NewCommits(w.options.Replicas, root)
	w.model = checker.NewModel(w.config.ClientTableMax)
	if !w.unchecked {
		w.model.Reserve(w.options.Requests)
	}
	w.commits.OnCanonical = func(op core.Op, prepare []byte) {
		w.violations = append(w.violations, w.model.Apply(uint64(w.kernel.Now()), op, prepare)...)
		w.canonicalQuorum(op)
	}
	w.quorum.tallies = make(map[core.Op]*ackTally)
	w.normalViewMax = make([]core.View, w.options.Replicas)
	w.checkpointOp = make([]core.Op, w.options.Replicas)
	w.checkpointIDs = make(map[core.Op]core.CheckpointID)
	w.sentDecoder = core.NewDecoder(w.config.Cluster, w.config.Replicas)
}

// checkReplica checks one running replica after a tick.
func (w *World) checkReplica(i int, r *core.Replica) {
	now := uint64(w.kernel.Now())
	w.violations = append(w.violations, w.commits.Observe(now, i, r)...)
	if !r.StateMissing() {
		// A replica whose checkpoint did not read back holds no state to compare until a
		// state transfer brings one; it executes nothing meanwhile.
		w.violations = append(w.violations, w.model.CheckDigest(now, i, r.CommitMin(), r.Digest())...)
		w.violations = append(w.violations, w.model.CheckRuns(now, i, r.RestoredAt(), r.CommitMin(), r.RequestsExecuted())...)
	}
	w.checkCheckpoint(now, i, r)
	if r.Status() != core.StatusNormal {
		return
	}
	if r.View() < w.normalViewMax[i] {
		w.violations = append(w.violations, checker.Violation{Tick: now, Replica: i, Invariant: "no ack taken back",
			Detail: fmt.Sprintf("normal in view %d after having been normal, durably (and so acknowledging), in view %d",
				r.View(), w.normalViewMax[i])})
	}
	// Normal in a view only counts once the disk says so: a replica acknowledges nothing
	// before, and a crash before may bring it back in the view it left.
	if r.DurableLogView() == r.View() {
		w.normalViewMax[i] = max(w.normalViewMax[i], r.View())
	}
}

// checkCheckpoint counts a checkpoint a replica made durable, and checks that checkpoints
// taken at the same op are byte-identical across replicas (their identities, a checksum of
// every byte, are equal): a checkpoint that differs by one byte restores another state.
func (w *World) checkCheckpoint(now uint64, i int, r *core.Replica) {
	id := r.Checkpoint()
	if id.Op <= w.checkpointOp[i] {
		if id.Op < w.checkpointOp[i] {
			w.checkpointOp[i] = id.Op // a wipe: its checkpoints are made again
		}
		return
	}
	w.checkpointOp[i] = id.Op
	w.stats.Checkpoints++
	first, ok := w.checkpointIDs[id.Op]
	if !ok {
		w.checkpointIDs[id.Op] = id
		return
	}
	if first != id {
		w.violations = append(w.violations, checker.Violation{Tick: now, Replica: i, Invariant: "identical checkpoints",
			Detail: fmt.Sprintf("checkpoint of op %d is %d bytes %v, another replica's %d bytes %v",
				id.Op, id.Size, id.Checksum, first.Size, first.Checksum)})
	}
}

// checkReplies checks the replies that arrived this tick.
func (w *World) checkReplies() {
	for _, i := range w.workload.replied {
		w.violations = append(w.violations, checker.CheckReply(w.workload.history, i, w.model)...)
	}
	w.workload.replied = w.workload.replied[:0]
}

// checkEnd runs the checks that need the whole run: the real-time order of the history
// against the commit order, and every replica still up against the model.
func (w *World) checkEnd() {
	if w.unchecked {
		return
	}
	// Each reply was checked when it arrived; what remains is the real-time order.
	w.violations = append(w.violations, checker.CheckRealTime(w.workload.history, w.model)...)
	w.checkQuorumsKept()
	for i, r := range w.replicas {
		if w.kernel.State(simnet.Process(i)) != StateCrashed {
			w.checkReplica(i, r)
		}
	}
}
