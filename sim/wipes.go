package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/simnet"
)

// Wipes (shared/design/faults.md, "Processes"): with wipeProbability a replica restarts on
// a new, empty disk, and must recover its state from its peers before it counts again.
//
// The wipe budget: at no time may more replicas be wiped, or be recovering from a wipe,
// than leave a replication quorum holding every committed op. A committed op is on a
// replication quorum (a majority); with at most R − quorum replicas wiped, the others are
// a replication quorum, which meets every committed op's quorum and can answer a wiped
// replica's recovery (it needs a replication quorum of answers). R − majority is f. A
// replica counts as wiped from the wipe until it is up and healthy again (KernelConfig's
// Healthy: not recovering, and its log whole up to its commit), crashes in between
// included. Without restartFromDisk the stop budget already holds wipes within this one
// (a wiped replica is stopped, then unhealthy); with it, this is the only budget.

// wipeBudget is how many replicas may be wiped or recovering from a wipe at once.
func (k *Kernel) wipeBudget() int {
	quorum := k.options.Replicas/2 + 1 // core.Config.QuorumReplication: a majority
	return k.options.Replicas - quorum
}

// wipedCount counts the replicas wiped and not yet recovered.
func (k *Kernel) wipedCount() int {
	n := 0
	for _, wiped := range k.wiped {
		if wiped {
			n++
		}
	}
	return n
}

// canWipe reports whether target, restarting now, may be wiped within the budget. A
// replica still recovering from its last wipe may be wiped again: that loses nothing more.
func (k *Kernel) canWipe(target simnet.Process) bool {
	after := k.wipedCount()
	if !k.wiped[target] {
		after++
	}
	return after <= k.wipeBudget()
}

// wipe replaces target's disk by an empty one before it starts its next life.
func (k *Kernel) wipe(target simnet.Process, life int) {
	if !k.canWipe(target) {
		panic(fmt.Sprintf("sim: wipe of replica %d beyond the budget of %d", target, k.wipeBudget()))
	}
	k.wiped[target] = true
	k.stats.Wipes++
	if k.config.Wipe != nil {
		k.storageRetired = k.storageRetired.Add(k.config.Wipe(target, life))
	}
	k.trace.Record(k.now, TraceWipe, uint64(target))
	if k.trace.Writing() {
		k.trace.Line(k.now, "wipe p%d life=%d", target, life)
	}
	k.checkWipeBudget()
}

// recoveredFromWipes clears the mark of every wiped replica that is up and healthy again.
func (k *Kernel) recoveredFromWipes() {
	for i, wiped := range k.wiped {
		p := simnet.Process(i)
		if !wiped || k.procs[i].state != StateUp || (k.config.Healthy != nil && !k.config.Healthy(p)) {
			continue
		}
		k.wiped[i] = false
		k.trace.Record(k.now, TraceWipeRecovered, uint64(i))
		if k.trace.Writing() {
			k.trace.Line(k.now, "wipe.recovered p%d", i)
		}
	}
	k.checkWipeBudget()
}

// checkWipeBudget asserts the wipe budget, every tick and at every wipe.
func (k *Kernel) checkWipeBudget() {
	n := k.wipedCount()
	k.stats.WipedMax = max(k.stats.WipedMax, uint64(n))
	if n > k.wipeBudget() {
		panic(fmt.Sprintf("sim: %d replicas wiped or recovering from a wipe, budget %d", n, k.wipeBudget()))
	}
}
