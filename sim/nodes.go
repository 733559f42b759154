package sim

import (
	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
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
	b.env.Send(simnet.Process(replica), message)
}

func (b *bus) SendToClient(client core.ClientID, message []byte) {
	if p, ok := b.world.clientProcess[client]; ok {
		b.env.Send(p, message)
	}
}

// replicaNode drives a core replica as a kernel node.
type replicaNode struct{ replica *core.Replica }

func (n replicaNode) Tick()                                 { n.replica.Tick() }
func (n replicaNode) Receive(_ simnet.Process, data []byte) { n.replica.Receive(data) }

// clientNode drives a core client as a kernel node.
type clientNode struct{ client *core.Client }

func (n clientNode) Tick()                                 { n.client.Tick() }
func (n clientNode) Receive(_ simnet.Process, data []byte) { n.client.Receive(data) }

// start builds the node of a process: a replica (recovering when it restarts, since until
// storage lands a restart loses everything) or a client with its workload slot.
func (w *World) start(env *Env) Node {
	b := &bus{env: env, world: w}
	if int(env.Process) < w.options.Replicas {
		index := int(env.Process)
		replica := core.NewReplica(w.config, core.ReplicaIndex(index), w.newStateMachine(index), b, env,
			env.Rand, env.Life > 0)
		w.replicas[index] = replica
		if env.Life > 0 {
			w.commits.Restarted(index)
		}
		return replicaNode{replica: replica}
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
