package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// bus is a process's core.MessageBus: replicas are processes 0..R-1, clients are found by
// their id (a client id the world does not know, say a stale one, is dropped).
type bus struct {
	env   *Env
	world *World
}

func (b *bus) SendToReplica(replica core.ReplicaIndex, message []byte) {
	if sender := int(b.env.Process); sender < len(b.world.replicas) && !b.world.unchecked {
		b.world.checkSent(sender, message)
	}
	if int(b.env.Process) < b.world.options.Replicas && core.PeekCommand(message) == core.CommandDoViewChange {
		b.world.kernel.Voted(b.env.Process)
	}
	b.env.Send(simnet.Process(replica), message)
}

func (b *bus) SendToClient(client core.ClientID, message []byte) {
	if p, ok := b.world.clientProcess[client]; ok {
		b.env.Send(p, message)
	}
}

// replicaNode drives a core replica and its disk as a kernel node: each tick of the
// process (not while it is crashed or paused) ticks the disk first, which hands the
// replica every completion due, then the replica.
type replicaNode struct {
	replica *core.Replica
	disk    *simstorage.Disk
	deliver func(simstorage.Completion)
}

func (n replicaNode) Tick() {
	n.disk.Tick(n.deliver)
	n.replica.Tick()
}

func (n replicaNode) Receive(_ simnet.Process, data []byte) { n.replica.Receive(data) }

// storageOptions is every replica's disk: the storage knobs of the run's options
// (knobs.go; shared/design/faults.md, "Storage"). A wiped replica's new disk has them too.
func (w *World) storageOptions() simstorage.Options { return w.options.Storage }

// disk returns replica index's disk, made at its first start and kept across its crashes
// and restarts; the atlas is drawn once, from the "storage" stream, for every disk.
func (w *World) disk(index int) *simstorage.Disk {
	if w.disks == nil {
		w.disks = make([]*simstorage.Disk, w.options.Replicas)
		w.atlas = simstorage.NewAtlas(w.entropy.Stream("storage"), w.options.Replicas,
			w.atlasQuorum(), w.config.Layout())
	}
	if w.disks[index] == nil {
		w.disks[index] = simstorage.New(w.config.Layout(), w.storageOptions(),
			w.entropy.Stream(fmt.Sprintf("storage.%d", index)), w.atlas, index)
	}
	return w.disks[index]
}

// atlasQuorum is the quorum the atlas is drawn for: a chunk is open to atlasQuorum−1
// replicas. A wiped replica has lost every chunk at once, as if the atlas had faulted them
// all, so a run that may wipe leaves the atlas only what the wipe budget does not take:
// per chunk, the wiped replicas and those with atlas faults together stay below a
// replication quorum, and every committed op keeps an intact copy. (Without this, a
// committed op held by a quorum of two in a cluster of three was lost to one replica's
// wipe and the other's bit rot, seed 180 with whole-cluster crashes on.)
func (w *World) atlasQuorum() int {
	quorum := w.config.QuorumReplication()
	if w.options.WipeProbability.IsZero() {
		return quorum
	}
	budget := w.options.Replicas - quorum // wipeBudget (wipes.go)
	if budget < 0 || budget >= quorum {
		panic(fmt.Sprintf("sim: wipe budget %d for a quorum of %d", budget, quorum))
	}
	return quorum - budget
}

// replicaNode makes the node of a replica just built on its disk.
func (w *World) replicaNode(index int, replica *core.Replica) replicaNode {
	w.replicas[index] = replica
	deliver := func(c simstorage.Completion) { replica.Completed(c.ID, c.Write, c.Data, c.Error) }
	return replicaNode{replica: replica, disk: w.disk(index), deliver: deliver}
}

// crashed is the kernel's word that a process crashed: a replica's writes in flight are
// lost or torn, and its next life reads back what the disk kept.
func (w *World) crashed(p simnet.Process) {
	if int(p) < w.options.Replicas {
		w.disk(int(p)).Crash()
		w.promised[p] = w.promised[p] || w.replicas[p].Promised()
	}
}

// clientNode drives a core client as a kernel node.
type clientNode struct{ client *core.Client }

func (n clientNode) Tick()                                 { n.client.Tick() }
func (n clientNode) Receive(_ simnet.Process, data []byte) { n.client.Receive(data) }

// start builds the node of a process: a replica on its disk, or a client with its workload
// slot. A replica first reads its disk back (core.OpenReplica, status opening): the node
// ticks the disk from the start, and the disk's completions reach the replica while it
// opens as after. Its first start, and every start until it first had a durable root, is
// fresh and starts normal in view 0; a restart
// restarts from what the disk holds, or, when the disk has no root (a wipe gave it an empty
// one) or lost it, recovers from its peers (VRR §4.3). Either way it executes its log
// again, from the checkpoint its root names (or op 1): the checker forgets what it had
// executed.
func (w *World) start(env *Env) Node {
	b := &bus{env: env, world: w}
	if int(env.Process) < w.options.Replicas {
		index := int(env.Process)
		// Fresh until it first had a durable root: a replica that crashed before promised
		// nothing, and one recovering from peers could never rejoin a cluster that has no
		// normal primary to answer it (seed 202, whole-cluster crashes on, crashed at tick 5).
		fresh := !w.promised[index]
		replica := core.OpenReplica(w.config, core.ReplicaIndex(index), w.newStateMachine(index), b, env,
			env.Rand, w.disk(index), fresh)
		if env.Life > 0 {
			w.stats.StateTransfers += w.replicas[index].Stats().StateTransfers // its last life's
			w.commits.Restarted(index)
			w.rejoining[index] = true
		}
		return w.replicaNode(index, replica)
	}
	slot := int(env.Process) - w.options.Replicas
	ids := 0
	nextID := func() core.ClientID {
		// Random high bits, the process and a counter in the low ones: unique even when
		// every draw is zero.
		ids++
		id := core.ClientID(env.Rand.Uint64()<<24 | uint64(env.Process)<<16 | uint64(ids&0x7fff) | 1<<15)
		w.clientProcess[id] = env.Process
		return id
	}
	client := w.workload.attach(slot, nextID(), b, env)
	client.SetIDSource(nextID)
	return clientNode{client: client}
}
