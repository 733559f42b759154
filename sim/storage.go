package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// The world's side of the disks beyond building them (nodes.go): their faults in the
// trace, wipes, the crash-while-writing rule's question, healing, and their counts.

// attachStorage connects the replicas' disks, all made at their first start, to the trace
// and the kernel's storage hooks. Run calls it once the world is built, before any tick.
func (w *World) attachStorage() {
	for i := 0; i < w.options.Replicas; i++ {
		d := w.disk(i)
		faults := d.Stats()
		faults.Reads, faults.Writes = 0, 0
		if faults != (simstorage.Stats{}) {
			// A disk's first faults come at its first Tick: none can be missed yet.
			panic(fmt.Sprintf("sim: disk of replica %d faulted before the trace heard of it", i))
		}
		d.OnFault = w.faultTracer(i)
	}
	k := &w.kernel.config
	k.Wipe, k.WritesInFlight, k.HealStorage = w.wipe, w.writesInFlight, w.healStorage
}

// faultTracer records replica's storage faults in the trace, one stable line each.
func (w *World) faultTracer(replica int) func(simstorage.Fault) {
	return func(f simstorage.Fault) {
		now := w.kernel.Now()
		w.trace.Record(now, TraceStorageFault, uint64(replica), uint64(f.Kind), uint64(f.Zone),
			f.Sector, f.Sectors, f.Target)
		if w.trace.Writing() {
			w.trace.Line(now, "storage.fault p%d %v", replica, f)
		}
	}
}

// wipe gives replica p a new, empty disk for its life about to start: the same atlas and
// options, its own stream. It returns the old disk's counts.
func (w *World) wipe(p simnet.Process, life int) simstorage.Stats {
	i := int(p)
	old := w.disk(i)
	if old.InFlight() != 0 {
		panic(fmt.Sprintf("sim: wipe of replica %d with I/O in flight: a wipe follows a crash", i))
	}
	d := simstorage.New(w.config.Layout(), w.storageOptions(),
		w.entropy.Stream(fmt.Sprintf("storage.%d.life.%d", i, life)), w.atlas, i)
	d.OnFault = w.faultTracer(i)
	w.disks[i] = d
	return old.Stats()
}

// writesInFlight reports whether replica p's disk has writes in flight.
func (w *World) writesInFlight(p simnet.Process) bool {
	return int(p) < len(w.disks) && w.disks[p] != nil && w.disks[p].WritesInFlight() > 0
}

// healStorage ends the atlas's faults on every disk for the liveness phase. Sectors
// already rotten stay so until rewritten; crashes no longer happen.
func (w *World) healStorage() {
	for i := 0; i < w.options.Replicas; i++ {
		w.disk(i).Heal()
	}
}

// storageStats sums the counts of every replica's disk, the disks wipes replaced included.
func (w *World) storageStats() simstorage.Stats {
	sum := w.kernel.StorageRetired()
	for _, d := range w.disks {
		if d != nil {
			sum = sum.Add(d.Stats())
		}
	}
	return sum
}
