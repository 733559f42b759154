package sim

import (
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
)

// The ack checks (acks.go), each shown to catch a replica with one bug planted from outside
// the checker: a node wrapped so that the replica, in some state, also sends a message
// through its own bus that a correct replica would not. Each plant counts how often it
// struck, so a test cannot pass by never reaching its state.

// wrapReplicas lets plant see every message a replica receives, before the replica does,
// with a bus that sends as that replica (through the world's checks, as the replica's own
// sends go).
func wrapReplicas(w *World, plant func(b *bus, r *core.Replica, data []byte)) {
	wrapNodes(w, func(env *Env, n Node) Node {
		rn, ok := n.(replicaNode)
		if !ok {
			return n
		}
		b := &bus{env: env, world: w}
		return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
			plant(b, rn.replica, data)
			n.Receive(source, data)
		}}
	})
}

// TestAckBeforeHoldingIsCaught plants a backup that acknowledges each new prepare from its
// primary before it takes the prepare in: the ack names a prepare it does not hold.
func TestAckBeforeHoldingIsCaught(t *testing.T) {
	struck := 0
	r, _ := runWith(t, calm(), func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		enc := core.NewEncoder(w.config.Cluster)
		wrapReplicas(w, func(b *bus, r *core.Replica, data []byte) {
			command, err := dec.Decode(data)
			if err != nil || command != core.CommandPrepare || r.Status() != core.StatusNormal ||
				r.IsPrimary() || dec.Prepare.View != r.View() || dec.Prepare.Op <= r.Op() {
				return
			}
			struck++
			m := core.PrepareOk{Replica: r.Index(), View: r.View(), Op: dec.Prepare.Op,
				Commit: r.CommitMin(), Prepare: dec.Prepare.Checksum}
			b.SendToReplica(core.ReplicaIndex(dec.Prepare.Replica), enc.PrepareOk(&m))
		})
	})
	expectFailure(t, r, VerdictCorrectness, invariantAcks)
	expectDetail(t, r, "without holding it")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}

func expectDetail(t *testing.T, r Result, detail string) {
	t.Helper()
	if !strings.Contains(r.Failure, detail) {
		t.Fatalf("failure %q; want it to say %q", r.Failure, detail)
	}
}

// ackInViewChange plants a replica that, while it changes views, acknowledges every prepare
// it receives to the primary of the view it is changing to: votes for a view and acks in it
// at once, as a replica that lost the start_view might.
func ackInViewChange(struck *int) func(w *World) {
	return func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		enc := core.NewEncoder(w.config.Cluster)
		wrapReplicas(w, func(b *bus, r *core.Replica, data []byte) {
			command, err := dec.Decode(data)
			if err != nil || command != core.CommandPrepare || r.Status() != core.StatusViewChange {
				return
			}
			*struck++
			m := core.PrepareOk{Replica: r.Index(), View: r.View(), Op: dec.Prepare.Op,
				Commit: r.CommitMin(), Prepare: dec.Prepare.Checksum}
			primary := core.ReplicaIndex(uint64(r.View()) % uint64(w.config.Replicas))
			if primary != r.Index() {
				b.SendToReplica(primary, enc.PrepareOk(&m))
			}
		})
	}
}

// TestAckInViewChangeIsCaught plants ackInViewChange on a swarm seed with view changes;
// the seed without the plant passes.
func TestAckInViewChangeIsCaught(t *testing.T) {
	config := RunConfig{Seed: "1", Overrides: []Override{{Name: "replicas", Value: "3"},
		{Name: "requests", Value: "100"}}}
	mustRun(t, config)
	struck := 0
	r, _ := runWith(t, config, ackInViewChange(&struck))
	expectFailure(t, r, VerdictCorrectness, invariantAcks)
	expectDetail(t, r, "while view_change in view")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}

// TestDoViewChangeFromANormalReplicaIsCaught plants a backup that answers each heartbeat of
// its primary with a do_view_change for the next view, its log view the current one: a
// vote from a replica that never stopped being normal.
func TestDoViewChangeFromANormalReplicaIsCaught(t *testing.T) {
	struck := 0
	r, _ := runWith(t, calm(), func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		enc := core.NewEncoder(w.config.Cluster)
		wrapReplicas(w, func(b *bus, r *core.Replica, data []byte) {
			command, err := dec.Decode(data)
			if err != nil || command != core.CommandCommit || r.Status() != core.StatusNormal || r.IsPrimary() {
				return
			}
			struck++
			m := core.DoViewChange{Replica: r.Index(), View: r.View() + 1, LogView: r.View(),
				Op: r.CommitMin(), Commit: r.CommitMin()}
			if m.Op > 0 {
				m.Headers = []core.PrepareHeader{r.ExecutedHeader(m.Op)}
			}
			b.SendToReplica(core.ReplicaIndex(uint64(m.View)%uint64(w.config.Replicas)), enc.DoViewChange(&m))
		})
	})
	expectFailure(t, r, VerdictCorrectness, invariantAcks)
	expectDetail(t, r, "for view 1 while normal in view 0")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}

// forgetfulVotes rewrites every do_view_change on the wire into the vote of a replica whose
// log ends at its commit: a man in the middle that makes the new primary believe the ops
// above were held by no one (what a recovered replica that forgot what it acked says).
func forgetfulVotes(struck *int) func(w *World) {
	return func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		enc := core.NewEncoder(w.config.Cluster)
		wrapNodes(w, func(env *Env, n Node) Node {
			if _, ok := n.(replicaNode); !ok {
				return n
			}
			return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
				if command, err := dec.Decode(data); err == nil && command == core.CommandDoViewChange {
					m := dec.DoViewChange
					keep := 0
					for keep < len(m.Headers) && m.Headers[keep].Op <= m.Commit {
						keep++
					}
					if keep < len(m.Headers) && keep > 0 {
						*struck++
						m.Headers = append([]core.PrepareHeader(nil), m.Headers[:keep]...)
						m.Op, m.Present = m.Headers[keep-1].Op, m.Present&(1<<keep-1)
						data = enc.DoViewChange(&m)
					}
				}
				n.Receive(source, data)
			}}
		})
	}
}

// TestForgetfulVotesAreCaught plants forgetfulVotes on a swarm seed with view changes: a
// new primary truncates ops that a quorum held, and re-prepares others there. The seed
// without the plant passes.
func TestForgetfulVotesAreCaught(t *testing.T) {
	config := RunConfig{Seed: "6", Overrides: []Override{{Name: "replicas", Value: "3"},
		{Name: "requests", Value: "200"}}}
	mustRun(t, config)
	struck := 0
	r, _ := runWith(t, config, forgetfulVotes(&struck))
	expectFailure(t, r, VerdictCorrectness, invariantQuorum)
	expectDetail(t, r, "committed in view")
	if struck == 0 {
		t.Fatal("the plant never struck")
	}
}
