package sim

import (
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
)

// The world's checkers, each shown to catch a violation planted from outside the checker:
// a faulty state machine plugged in through RunConfig.StateMachine, a node wrapped so that
// it forges, drops or rewrites messages (a replica or client with one bug), or a replica
// restarted without its recovery protocol. Each test asserts the verdict and that the first
// failure names the invariant the plant breaks; the unplanted run of the same seed passes
// (mustRun), so the alarm is the plant's. TestPluggedStateMachineDivergenceIsCaught
// (determinism_test.go) covers one replica's store diverging.

// runWith runs a world as Run does, after prepare has had its way with it (wrapped its
// nodes, say). Panics are not recovered: a test that expects one uses Run.
func runWith(t testing.TB, config RunConfig, prepare func(w *World)) (Result, *World) {
	t.Helper()
	options, factory, err := Prepare(config)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(options, factory, newTrace(nil, nil), &config)
	w.unchecked = config.uncheckedForBenchmark
	if prepare != nil {
		prepare(w)
	}
	result := Result{Seed: config.Seed, Profile: config.Profile.String(), Options: options}
	w.run(&result)
	w.fillStats(&result)
	return result, w
}

// wrapNodes passes every node the world starts, now and at every restart, through wrap.
func wrapNodes(w *World, wrap func(env *Env, n Node) Node) {
	start := w.kernel.config.Start
	w.kernel.config.Start = func(env *Env) Node { return wrap(env, start(env)) }
	for i := range w.kernel.procs {
		p := &w.kernel.procs[i]
		p.node = wrap(p.env, p.node)
	}
}

// nodeFunc is a node whose Receive is a function: the plant's.
type nodeFunc struct {
	Node
	receive func(source simnet.Process, data []byte)
}

func (n nodeFunc) Receive(source simnet.Process, data []byte) { n.receive(source, data) }

// wrapPrimaries lets plant see every message a replica receives while it is the normal
// primary; plant returns the bytes to hand on (nil: drop the message).
func wrapPrimaries(w *World, plant func(env *Env, r *core.Replica, data []byte) []byte) {
	wrapNodes(w, func(env *Env, n Node) Node {
		rn, ok := n.(replicaNode)
		if !ok {
			return n
		}
		return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
			if r := rn.replica; r.Status() == core.StatusNormal && r.IsPrimary() {
				data = plant(env, r, data)
			}
			if data != nil {
				n.Receive(source, data)
			}
		}}
	})
}

// applyRequest decodes a client's request to apply an operation. The plants forge on every
// one: a plant on the first alone could be lost to a drop (a lagging primary, a retry).
func applyRequest(w *World, data []byte) (*core.Request, bool) {
	d := core.NewDecoder(w.config.Cluster, w.config.Replicas)
	if command, err := d.Decode(data); err != nil || command != core.CommandRequest ||
		d.Request.Operation != core.OperationApply {
		return nil, false
	}
	m := d.Request
	m.Body = append([]byte(nil), m.Body...)
	return &m, true
}

func expectFailure(t *testing.T, r Result, verdict Verdict, invariant string) {
	t.Helper()
	if r.Verdict != verdict || !strings.Contains(r.Failure, invariant) {
		t.Fatalf("verdict %v, failure %q; want %v naming %q (all: %q)", r.Verdict, r.Failure, verdict, invariant, r.Violations)
	}
	// Safety is checked as it happens: every plant here is caught in the safety phase, not
	// by the end-of-run checks.
	if verdict == VerdictCorrectness && r.Liveness.Reached {
		t.Fatalf("%s caught only after the safety phase: %q", invariant, r.Failure)
	}
	t.Log(r.Failure)
}

var calmSeed = RunConfig{Seed: "3", Profile: ProfileCalm, Overrides: []Override{{Name: "requests", Value: "60"}}}

func calm() RunConfig {
	c := calmSeed
	c.Overrides = append([]Override(nil), calmSeed.Overrides...)
	return c
}

func TestPlantsControlRunPasses(t *testing.T) {
	mustRun(t, calm())
	mustRun(t, livenessConfig())
}

// TestPhantomIsCaught plants a primary that swaps the body of every request it gets for
// one the client never sent: the committed op runs a phantom.
func TestPhantomIsCaught(t *testing.T) {
	r, _ := runWith(t, calm(), func(w *World) {
		enc := core.NewEncoder(w.config.Cluster)
		wrapPrimaries(w, func(env *Env, _ *core.Replica, data []byte) []byte {
			m, ok := applyRequest(w, data)
			if !ok {
				return data
			}
			m.Body = core.EncodeKV(nil, core.KVInput{Op: core.KVPut, Key: "k0", Value: "phantom"})
			return append([]byte(nil), enc.Request(m)...)
		})
	})
	expectFailure(t, r, VerdictCorrectness, "no phantoms")
}

// TestSecondExecutionIsCaught plants a primary that runs a client's previous operation
// again under its next request number (a stale request buffer): the operation the client
// sent once commits twice, runnable both times.
func TestSecondExecutionIsCaught(t *testing.T) {
	type last struct {
		session core.Session
		request core.RequestNumber
		body    []byte
	}
	seen := map[core.ClientID]last{}
	r, _ := runWith(t, calm(), func(w *World) {
		enc := core.NewEncoder(w.config.Cluster)
		wrapPrimaries(w, func(env *Env, _ *core.Replica, data []byte) []byte {
			m, ok := applyRequest(w, data)
			if !ok {
				return data
			}
			previous, ok := seen[m.Client]
			if !ok || previous.session != m.Session || m.Request < previous.request {
				seen[m.Client] = last{m.Session, m.Request, m.Body}
				return data
			}
			if m.Request == previous.request+1 {
				m.Body = previous.body
				return append([]byte(nil), enc.Request(m)...)
			}
			return data
		})
	})
	expectFailure(t, r, VerdictCorrectness, "exactly once")
}

// TestReplyForAnOpThatNeverRanIsCaught plants a primary that answers each request at once,
// from nowhere, and forgets it: the client hears of an op that never runs.
func TestReplyForAnOpThatNeverRanIsCaught(t *testing.T) {
	r, _ := runWith(t, calm(), func(w *World) {
		enc := core.NewEncoder(w.config.Cluster)
		wrapPrimaries(w, func(env *Env, r *core.Replica, data []byte) []byte {
			m, ok := applyRequest(w, data)
			if !ok {
				return data
			}
			reply := core.Reply{Replica: r.Index(), View: r.View(), Op: r.Op() + 1, Commit: r.Op() + 1,
				Client: m.Client, Session: m.Session, Request: m.Request, Operation: m.Operation,
				Body: []byte{0}} // "ok", and an empty value for a get
			env.Send(w.clientProcess[m.Client], enc.Reply(&reply))
			return nil
		})
	})
	expectFailure(t, r, VerdictCorrectness, "durability")
	if !strings.Contains(r.Failure, "never ran") {
		t.Fatalf("failure %q, want an op that never ran", r.Failure)
	}
}

// TestReplyNamingAnotherOpIsCaught plants a rewrite on the clients' side: every reply to
// an operation names the op after the one the operation ran at.
func TestReplyNamingAnotherOpIsCaught(t *testing.T) {
	r, _ := runWith(t, calm(), func(w *World) {
		dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
		enc := core.NewEncoder(w.config.Cluster)
		wrapNodes(w, func(env *Env, n Node) Node {
			if _, ok := n.(clientNode); !ok {
				return n
			}
			return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
				if command, err := dec.Decode(data); err == nil && command == core.CommandReply &&
					dec.Reply.Operation == core.OperationApply {
					m := dec.Reply
					m.Op++
					m.Commit = max(m.Commit, m.Op)
					data = enc.Reply(&m)
				}
				n.Receive(source, data)
			}}
		})
	})
	expectFailure(t, r, VerdictCorrectness, "durability")
	if !strings.Contains(r.Failure, "reply named op") {
		t.Fatalf("failure %q, want a reply naming the wrong op", r.Failure)
	}
}

// staleKV is the reference store, except that on a lying replica a get returns the value
// the key had before its latest write: the state stays right, the answers do not.
type staleKV struct {
	*core.KV
	lying    bool
	previous map[string]string
}

func (s *staleKV) Apply(op core.Op, timestamp uint64, input []byte, output []byte) []byte {
	in, err := core.DecodeKV(input)
	if err != nil {
		return s.KV.Apply(op, timestamp, input, output)
	}
	if in.Op == core.KVGet && s.lying {
		if old, ok := s.previous[in.Key]; ok {
			return append(append(output, 0), old...)
		}
	}
	before := s.Get(in.Key)
	output = s.KV.Apply(op, timestamp, input, output)
	if s.Get(in.Key) != before {
		s.previous[in.Key] = before
	}
	return output
}

// TestStaleReadOnThePrimaryIsCaught plugs a store that answers gets with a stale value on
// replica 0, the primary of view 0: every replica agrees on the state, and the client
// hears a value the commit order does not give.
func TestStaleReadOnThePrimaryIsCaught(t *testing.T) {
	config := calm()
	config.StateMachine = func(replica int) core.StateMachine {
		return &staleKV{KV: core.NewKV(), lying: replica == 0, previous: map[string]string{}}
	}
	r, err := Run(config)
	if err != nil {
		t.Fatal(err)
	}
	expectFailure(t, r, VerdictCorrectness, "linearizability")
	// A backup's stale answers are never heard, but its client table keeps them as the
	// replies it would resend: its checkpoints differ from the others'. (The liveness core
	// is every replica, so that none is cut off and replica 1 never becomes primary to
	// serve the healed core.) Without checkpoints, nothing sees it.
	config.Overrides = append(config.Overrides, Override{Name: "livenessCoreExtras", Value: "6"})
	config.StateMachine = func(replica int) core.StateMachine {
		return &staleKV{KV: core.NewKV(), lying: replica == 1, previous: map[string]string{}}
	}
	r, err = Run(config)
	if err != nil {
		t.Fatal(err)
	}
	expectFailure(t, r, VerdictCorrectness, "identical checkpoints")
	config.Overrides = append(config.Overrides, Override{Name: "checkpointOps", Value: "100000"},
		Override{Name: "journalSlots", Value: "200224"})
	mustRun(t, config)
}

// doubleAppendKV applies every append twice, on every replica: the replicas agree with one
// another, so only a model of its own shows they are wrong.
type doubleAppendKV struct{ *core.KV }

func (d doubleAppendKV) Apply(op core.Op, timestamp uint64, input []byte, output []byte) []byte {
	if in, err := core.DecodeKV(input); err == nil && in.Op == core.KVAppend {
		d.KV.Apply(op, timestamp, input, nil)
	}
	return d.KV.Apply(op, timestamp, input, output)
}

func TestAgreeingReplicasWithAWrongStoreAreCaught(t *testing.T) {
	config := calm()
	config.StateMachine = func(int) core.StateMachine { return doubleAppendKV{core.NewKV()} }
	r, err := Run(config)
	if err != nil {
		t.Fatal(err)
	}
	expectFailure(t, r, VerdictCorrectness, "convergence")
}

// panickingKV panics on one replica at its tenth operation: an assertion inside simulated
// code.
type panickingKV struct {
	*core.KV
	broken bool
	count  int
}

func (p *panickingKV) Apply(op core.Op, timestamp uint64, input []byte, output []byte) []byte {
	if p.count++; p.broken && p.count == 10 {
		panic("planted: the store's own assertion")
	}
	return p.KV.Apply(op, timestamp, input, output)
}

func TestPanicIsACrash(t *testing.T) {
	config := calm()
	config.StateMachine = func(replica int) core.StateMachine {
		return &panickingKV{KV: core.NewKV(), broken: replica == 2}
	}
	r, err := Run(config)
	if err != nil {
		t.Fatal(err)
	}
	expectFailure(t, r, VerdictCrash, "planted: the store's own assertion")
	if !strings.Contains(r.Stack, "panickingKV") {
		t.Fatalf("the stack does not show where: %q", r.Stack)
	}
}

// TestAckTakenBackIsCaught restarts a backup without its recovery protocol: it comes back
// normal, in view 0, after having been normal (and acknowledging prepares) in a later view.
// The run is scripted: the primary crashes, a view change follows, then a backup of the new
// view crashes and restarts. The same script with the real restart (recovering) raises
// nothing: the replica recovers into the current view.
func TestAckTakenBackIsCaught(t *testing.T) {
	for _, amnesiac := range []bool{true, false} {
		config := calm()
		config.Overrides = append(config.Overrides, Override{Name: "replicas", Value: "3"},
			Override{Name: "requests", Value: "2000"})
		options, factory, err := Prepare(config)
		if err != nil {
			t.Fatal(err)
		}
		w := newWorld(options, factory, newTrace(nil, nil), &RunConfig{})
		plantOn := -1
		start := w.kernel.config.Start
		w.kernel.config.Start = func(env *Env) Node {
			n := start(env)
			if i := int(env.Process); i == plantOn && env.Life > 0 {
				// It replaces the replica start built, whose writes are dropped unheard.
				w.disk(i).Crash()
				r := core.NewReplica(w.config, core.ReplicaIndex(i), w.newStateMachine(i),
					&bus{env: env, world: w}, env, env.Rand, w.disk(i), false)
				return w.replicaNode(i, r)
			}
			return n
		}
		// until steps the world (no scheduled faults: the script crashes and restarts)
		// until done, or a violation.
		until := func(what string, done func() bool) {
			t.Helper()
			for tick := 0; !done() && len(w.violations) == 0; tick++ {
				if tick > 20_000 {
					t.Fatalf("amnesiac=%v: no %s in 20000 ticks", amnesiac, what)
				}
				w.kernel.Step()
				w.observe()
				w.workload.tick(w.kernel.Now())
			}
		}
		until("commits", func() bool { return w.replicas[0].CommitMin() >= 5 })
		w.kernel.Crash(0)
		backup := -1
		until("view change", func() bool {
			for i := 1; i < 3; i++ {
				if r := w.replicas[i]; r.Status() == core.StatusNormal && r.View() > 0 && !r.IsPrimary() {
					backup = i
					return true
				}
			}
			return false
		})
		w.kernel.Restart(0) // recovers: a quorum stays up once the backup goes down
		until("replica 0 recovering", func() bool { return w.replicas[0].Status() == core.StatusNormal })
		until("commits in the new view", func() bool {
			return w.replicas[backup].CommitMin() >= w.replicas[0].CommitMin()+5
		})
		if len(w.violations) > 0 {
			t.Fatalf("amnesiac=%v: violations before the plant: %v", amnesiac, w.violations)
		}
		if amnesiac {
			plantOn = backup
		}
		w.kernel.Crash(simnet.Process(backup))
		w.kernel.Restart(simnet.Process(backup))
		until("the restarted backup normal in the current view", func() bool {
			r := w.replicas[backup]
			return r.Status() == core.StatusNormal && r.View() > 0
		})
		switch {
		case amnesiac && (len(w.violations) == 0 || w.violations[0].Invariant != "no ack taken back" ||
			w.violations[0].Replica != backup):
			t.Fatalf("an amnesiac restart of replica %d: %v", backup, w.violations)
		case !amnesiac && len(w.violations) > 0:
			t.Fatalf("a real restart: a false alarm: %v", w.violations)
		}
		if amnesiac {
			t.Log(w.violations[0])
		}
	}
}

// livenessConfig is a run whose liveness core is all three replicas.
func livenessConfig() RunConfig {
	c := calm()
	c.Overrides = append(c.Overrides, Override{Name: "replicas", Value: "3"},
		Override{Name: "livenessCoreExtras", Value: "1"}, Override{Name: "livenessTicksMax", Value: "3000"})
	return c
}

// TestCoreThatCannotConvergeIsALivenessFailure makes replica 1 deaf from the start: the
// two others commit everything, the safety phase ends clean, and the liveness core (all
// three replicas) can never agree. No excuse applies.
func TestCoreThatCannotConvergeIsALivenessFailure(t *testing.T) {
	r, _ := runWith(t, livenessConfig(), func(w *World) {
		wrapNodes(w, func(env *Env, n Node) Node {
			if env.Process != 1 {
				return n
			}
			return nodeFunc{Node: n, receive: func(simnet.Process, []byte) {}}
		})
	})
	expectFailure(t, r, VerdictLiveness, "core did not converge in ")
	if !strings.Contains(r.Failure, "replica 1 ") || !strings.Contains(r.Failure, "op 0 commit 0/0") {
		t.Fatalf("the report does not show the deaf replica: %q", r.Failure)
	}
	if !r.Liveness.Reached || r.Liveness.Converged || len(r.Liveness.Core) != 3 || len(r.Liveness.Excuses) != 0 {
		t.Fatalf("liveness phase %+v", r.Liveness)
	}
}

// forkedBackup rewrites, for one backup, every prepare from op fork on into a history of
// its own: op fork gets another timestamp, and each later op is resealed onto the forged
// parent, so that the backup's log is a consistent hash chain that is not the cluster's.
// Commits are rewritten to name the forged ops. A man in the middle: the backup's code is
// not touched, and it executes what it is given.
func forkedBackup(w *World, backup simnet.Process, fork core.Op) {
	dec := core.NewDecoder(w.config.Cluster, w.config.Replicas)
	enc := core.NewEncoder(w.config.Cluster)
	forged := map[core.Checksum]core.Checksum{}
	wrapNodes(w, func(env *Env, n Node) Node {
		if env.Process != backup {
			return n
		}
		return nodeFunc{Node: n, receive: func(source simnet.Process, data []byte) {
			switch command, err := dec.Decode(data); {
			case err != nil:
			case command == core.CommandPrepare && dec.Prepare.Op >= fork:
				h := dec.Prepare.PrepareHeader
				body := append([]byte(nil), dec.Prepare.Body...)
				if parent, ok := forged[h.Parent]; ok {
					h.Parent = parent
				}
				if h.Op == fork {
					h.Timestamp++
				}
				original := h.Checksum
				data = enc.Prepare(&h, body)
				forged[original] = h.Checksum
			case command == core.CommandCommit:
				if f, ok := forged[dec.Commit.CommitChecksum]; ok {
					m := dec.Commit
					m.CommitChecksum = f
					data = enc.Commit(&m)
				}
			}
			n.Receive(source, data)
		}}
	})
}

// TestForkedHistoryIsCaught feeds one backup a forked history from op 5: it executes ops
// the primary never prepared. The first alarm is the backup's acknowledgement of a forged
// op at or above op 5 that a quorum had committed, or acknowledged in the same view, as
// another (quorum durability: which op comes first depends on when the primary's own copy
// becomes durable, which counts it among the holders); without acks it
// would be one history when the backup executes it (checker/commits_test.go plants that
// directly). Forking at an op beyond the run's end changes nothing and passes.
func TestForkedHistoryIsCaught(t *testing.T) {
	config := calm()
	config.Overrides = append(config.Overrides, Override{Name: "replicas", Value: "3"})
	r, _ := runWith(t, config, func(w *World) { forkedBackup(w, 2, 5) })
	expectFailure(t, r, VerdictCorrectness, invariantQuorum)
	expectDetail(t, r, "in view 0 for op")
	r, _ = runWith(t, config, func(w *World) { forkedBackup(w, 2, 1<<40) })
	if r.Verdict != VerdictPass {
		t.Fatalf("the man in the middle alone: %v %s", r.Verdict, r.Failure)
	}
}
