package sim

import (
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
)

// TestSwarmDrawsCrowdedTables counts the seeds of the first thousand whose client table has
// at most a quarter as many sessions as clients, down to one.
func TestSwarmDrawsCrowdedTables(t *testing.T) {
	crowded, single := 0, 0
	for seed := uint64(1); seed <= 1000; seed++ {
		o := DrawOptions(ProfileSwarm, entropy.FromSeed(seed).Stream("options"))
		if o.ClientTableMax <= o.Clients/4 {
			crowded++
			if o.ClientTableMax == 1 {
				single++
			}
		}
	}
	t.Logf("%d of the first 1,000 seeds have a quarter as many sessions as clients or fewer; %d one session",
		crowded, single)
	if crowded < 1000/crowdedOneIn/2 || single == 0 {
		t.Errorf("%d crowded seeds of 1,000 (want about %d), %d with one session", crowded,
			1000/crowdedOneIn, single)
	}
}

// crowdedCalm is a calm run of eight clients over one session: every register evicts a
// session, and the healed core still serves.
func crowdedCalm() RunConfig {
	c := calm()
	c.Overrides = append(c.Overrides, Override{Name: "clients", Value: "8"},
		Override{Name: "clientTableMax", Value: "1"})
	return c
}

func TestCrowdedTableIsServed(t *testing.T) {
	r := mustRun(t, crowdedCalm())
	if r.Stats.Evictions == 0 || r.Liveness.Served < 8 {
		t.Fatalf("%d evictions, %d served by the healed core; want evictions, and 8 served",
			r.Stats.Evictions, r.Liveness.Served)
	}
	t.Logf("%d evictions; the healed core served %d, each within %d ticks, a reply at least every %d",
		r.Stats.Evictions, r.Liveness.Served, r.Liveness.OutcomeTicksMax, r.Liveness.ServingGapTicksMax)
}

// TestOperationWithoutOutcomeIsCaught swallows, once the core serves, every eviction sent
// to client 0: its operation, cut off, never hears so.
func TestOperationWithoutOutcomeIsCaught(t *testing.T) {
	struck := 0
	r, _ := runWith(t, crowdedCalm(), func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		wrapNodes(w, func(env *Env, n Node) Node {
			if int(env.Process) != w.options.Replicas {
				return n
			}
			return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
				if command, err := dec.Decode(data); err == nil && command == core.CommandEviction &&
					w.workload.serving {
					struck++
					return
				}
				n.Receive(source, data)
			}}
		})
	})
	expectFailure(t, r, VerdictLiveness, "client 0's operation invoked at tick")
	expectDetail(t, r, "neither a reply nor an eviction")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}

// TestRegisterStormIsCaught plants, once the core serves, a rogue client that registers a
// new session every tick: every client's session is evicted before its request commits.
// Each operation has its outcome (an eviction), yet nothing is served.
func TestRegisterStormIsCaught(t *testing.T) {
	struck := 0
	r, _ := runWith(t, crowdedCalm(), func(w *World) {
		enc := core.NewEncoder(w.config.Cluster)
		wrapNodes(w, func(env *Env, n Node) Node {
			if int(env.Process) != w.options.Replicas {
				return n
			}
			return tickFunc{Node: n, tick: func() {
				n.Tick()
				if !w.workload.serving {
					return
				}
				struck++
				m := core.Request{Client: core.ClientID(uint64(struck)<<20 | 1), Operation: core.OperationRegister}
				for i := 0; i < w.options.Replicas; i++ {
					env.Send(simnet.Process(i), enc.Request(&m))
				}
			}}
		})
	})
	expectFailure(t, r, VerdictLiveness, "the healed core answered nothing for")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}

// tickFunc is a node whose Tick is a function: the plant's.
type tickFunc struct {
	Node
	tick func()
}

func (n tickFunc) Tick() { n.tick() }
