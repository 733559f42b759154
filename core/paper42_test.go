package core

// Paper-conformance tests: one test per rule of "Viewstamped Replication Revisited"
// (Liskov and Cowling, 2012), section 4.1 (normal operation), 4.2 (view changes), 4.3
// (recovery), and the client table. Each test sets up the state the rule speaks of on a
// harness cluster, takes the one step the rule is about, checks what the replicas did and
// sent, and ends with a comment quoting the rule it checks. Where this implementation
// departs from the paper on purpose (as TigerBeetle does), the comment says how.

import (
	"testing"
)

func TestPaper42Step1BackupTimesOutAndStartsViewChange(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r1 := h.replica(1)
	patience := r1.timer(timeoutPrimary)
	h.tickNode(1, int(patience.after-patience.ticks)-1)
	if r1.status != StatusNormal || len(h.messages(1, -1, CommandStartViewChange)) != 0 {
		t.Fatalf("r1 gave up on the primary early: %s", h.statusLine(1))
	}
	h.tickNode(1, 1)
	if r1.status != StatusViewChange || r1.view != 1 {
		t.Fatalf("r1 kept waiting for a silent primary: %s", h.statusLine(1))
	}
	svcs := h.messages(1, -1, CommandStartViewChange)
	if len(svcs) != 2 || svcs[0].target != 0 || svcs[1].target != 2 ||
		h.decode(t, svcs[0]).StartViewChange.View != 1 {
		t.Fatalf("r1 sent %q, want start_view_change v1 to r0 and r2", h.sent(1))
	}
	// VRR §4.2 step 1: "A replica i that notices the need for a view change advances its
	// view-number, sets its status to view-change, and sends a ⟨STARTVIEWCHANGE v, i⟩
	// message to the all other replicas"; a backup notices when the primary has been
	// silent for its timeout.
}

func TestPaper42Step1NormalReplicaJoinsOnQuorumOfOthers(t *testing.T) {
	h := harnessRegistered(t, 5, 1, nil)
	r2 := h.replica(2)
	for _, from := range []ReplicaIndex{1, 3, 4} {
		h.inject(int(from), 2, h.svc(from, 1))
		h.deliver(-1, 2, nil, 0)
		joined := r2.status == StatusViewChange && r2.view == 1
		if want := from == 4; joined != want {
			t.Fatalf("after start_view_change from r%d: %s; want joined %v", from, h.statusLine(2),
				want)
		}
	}
	if dvcs := h.messages(2, 1, CommandDoViewChange); len(dvcs) != 1 {
		t.Fatalf("r2 joined with a quorum of start_view_change but sent %q", h.sent(2))
	}
	// VRR §4.2 step 1: a replica also starts a view change when it "receives a
	// STARTVIEWCHANGE or DOVIEWCHANGE message for a view with a larger number than its own
	// view-number". Here a replica in normal status joins only once a view-change quorum
	// of the others asks: one replica cut off from the primary in one direction cannot
	// depose a primary the rest hear.
}

func TestPaper42Step1ViewChangeFollowsHigherView(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	h.timeOut(t, 2)
	h.inject(1, 2, h.svc(1, 2))
	h.deliver(1, 2, nil, 0)
	if r2 := h.replica(2); r2.status != StatusViewChange || r2.view != 2 {
		t.Fatalf("r2 changing views did not follow a higher view: %s", h.statusLine(2))
	}
	// VRR §4.2 step 1: a replica that "receives a STARTVIEWCHANGE ... message for a view
	// with a larger number than its own view-number" advances to that view.
}

func TestPaper42Step2DoViewChangeAfterFStartViewChanges(t *testing.T) {
	h := harnessRegistered(t, 5, 1, nil)
	h.timeOut(t, 2)
	r2 := h.replica(2)
	for _, from := range []ReplicaIndex{3, 4} {
		if dvcs := h.messages(2, -1, CommandDoViewChange); len(dvcs) != 0 {
			t.Fatalf("r2 sent do_view_change with too few start_view_change: %q", h.sent(2))
		}
		h.inject(int(from), 2, h.svc(from, 1))
		h.deliver(-1, 2, []Command{CommandStartViewChange}, 0)
	}
	dvcs := h.messages(2, -1, CommandDoViewChange)
	if len(dvcs) != 1 || dvcs[0].target != 1 {
		t.Fatalf("r2 with f start_view_change sent %q, want one do_view_change to r1", h.sent(2))
	}
	m := h.decode(t, dvcs[0]).DoViewChange
	last := m.Headers[len(m.Headers)-1]
	if m.View != 1 || m.LogView != 0 || m.Op != r2.journal.op || m.Commit != r2.commitMax ||
		last.Op != m.Op || last.Checksum != r2.journal.header(m.Op).Checksum ||
		m.Present != 1<<len(m.Headers)-1 {
		t.Fatalf("do_view_change %s, want view 1, log view 0, op %d, commit %d",
			h.describe(2, 1, dvcs[0].data), r2.journal.op, r2.commitMax)
	}
	// VRR §4.2 step 2: "When replica i receives STARTVIEWCHANGE messages for its
	// view-number from f other replicas, it sends a ⟨DOVIEWCHANGE v, l, v', n, k, i⟩ message
	// to the node that will be the primary in the new view", with its log (here the
	// window of headers at its head), its last normal view, op and commit numbers.
}

func TestPaper42Step2ViewChangeReplicaDropsNormalTraffic(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	h.timeOut(t, 2)
	h.drop(2, -1, nil, 0)
	r2 := h.replica(2)
	op, commit := r2.journal.op, r2.commitMax
	if err := h.submit(1, KVInput{Op: KVPut, Key: "x", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(h.clientNode(1), 0, nil, 0)
	h.deliver(0, 2, nil, 0) // the prepare of view 0
	h.tickNode(0, int(h.config.HeartbeatTicks))
	h.deliver(0, 2, nil, 0) // a commit of view 0
	h.inject(h.clientNode(1), 2, h.request(Request{Client: 1, Operation: OperationRegister}))
	h.deliver(-1, 2, nil, 0)
	if r2.journal.op != op || r2.commitMax != commit || len(h.sent(2)) != 0 {
		t.Fatalf("r2 changing views took normal traffic: op %d commit %d, sent %q", r2.journal.op,
			r2.commitMax, h.sent(2))
	}
	// VRR §4.2: a replica whose status is view-change does not take part in normal
	// operation: "replicas only process normal protocol messages" in normal status, so it
	// neither adds nor acknowledges a prepare, nor learns a commit, nor takes a request.
}

func TestPaper42Step3NewPrimaryWaitsForFPlusOneDoViewChanges(t *testing.T) {
	h := harnessNew(5, 1, nil)
	h.timeOut(t, 1)
	enc := h.encoder()
	r1 := h.replica(1)
	// r2 and r3 start the view change: r1 records its own do_view_change.
	for _, from := range []ReplicaIndex{2, 3} {
		h.handle(int(from), 1, h.svc(from, 1))
	}
	if len(r1.viewChange.dvcs) != 1 {
		t.Fatalf("r1 with a start_view_change quorum recorded %d do_view_change, want its own",
			len(r1.viewChange.dvcs))
	}
	for i, from := range []ReplicaIndex{4, 2} {
		if r1.status != StatusViewChange {
			t.Fatalf("r1 started view 1 with %d do_view_change: %s", i+1, h.statusLine(1))
		}
		h.handle(int(from), 1, harnessEncoded(enc.DoViewChange(&DoViewChange{Replica: from,
			View: 1})))
	}
	if r1.status != StatusNormal || r1.view != 1 || !r1.isPrimary() {
		t.Fatalf("r1 with f+1 do_view_change (its own too): %s", h.statusLine(1))
	}
	if svs := h.messages(1, -1, CommandStartView); len(svs) != 4 {
		t.Fatalf("the new primary sent %q, want start_view to the four others", h.sent(1))
	}
	// VRR §4.2 step 3: "When the new primary receives f + 1 DOVIEWCHANGE messages from
	// different replicas (including itself), it ... sets its status to normal", and step 4
	// "informs the other replicas of the completion of the view change by sending
	// ⟨STARTVIEW v, l, n, k⟩ messages".
}

// viewChangeToTwo brings r2 of five into the view change of view 2, its own do_view_change
// recorded: the next two do_view_change messages complete a quorum.
func (h *harness) viewChangeToTwo(t *testing.T) {
	t.Helper()
	for _, from := range []ReplicaIndex{0, 1, 3} {
		h.inject(int(from), 2, h.svc(from, 2))
	}
	h.deliver(-1, 2, nil, 0)
	if r2 := h.replica(2); r2.status != StatusViewChange || r2.view != 2 ||
		len(r2.viewChange.dvcs) != 1 {
		t.Fatalf("r2 is not collecting do_view_change for view 2: %s", h.statusLine(2))
	}
}

func TestPaper42Step3NewPrimaryPicksLargestLogViewThenOp(t *testing.T) {
	type candidate struct {
		logView View
		links   []harnessChainLink
		commit  Op
	}
	v0 := func(c ClientID) harnessChainLink { return harnessChainLink{view: 0, client: c} }
	v1 := func(c ClientID) harnessChainLink { return harnessChainLink{view: 1, client: c} }
	cases := []struct {
		name string
		r0   candidate // sent by r0
		r1   candidate // sent by r1
		best int       // 0 or 1
	}{
		{"higher log view beats a longer log",
			candidate{0, []harnessChainLink{v0(1), v0(2), v0(3), v0(4), v0(5)}, 2},
			candidate{1, []harnessChainLink{v0(1), v1(6), v1(7)}, 1}, 1},
		{"same log view: the longer log",
			candidate{1, []harnessChainLink{v0(1), v1(6), v1(7), v1(8)}, 1},
			candidate{1, []harnessChainLink{v0(1), v1(6), v1(7)}, 2}, 0},
		{"same log view: the longer log, sent last",
			candidate{1, []harnessChainLink{v0(1), v1(6)}, 1},
			candidate{1, []harnessChainLink{v0(1), v1(6), v1(7)}, 1}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := harnessNew(5, 1, nil)
			h.viewChangeToTwo(t)
			root := *h.replica(2).journal.header(0)
			var heads [2]PrepareHeader
			for i, c := range []candidate{tc.r0, tc.r1} {
				headers, _ := h.chain(root, c.links)
				heads[i] = headers[len(headers)-1]
				dvc := DoViewChange{Replica: ReplicaIndex(i), View: 2, LogView: c.logView,
					Op: heads[i].Op, Commit: c.commit, Present: 1<<len(headers) - 1, Headers: headers}
				h.inject(i, 2, harnessEncoded(h.encoder().DoViewChange(&dvc)))
			}
			h.deliver(-1, 2, []Command{CommandDoViewChange}, 0)
			r2 := h.replica(2)
			want := heads[tc.best]
			if !r2.viewChange.installed || r2.journal.op != want.Op ||
				r2.journal.header(want.Op).Checksum != want.Checksum {
				t.Fatalf("r2 installed head op%d, want r%d's log (head op%d %v)", r2.journal.op,
					tc.best, want.Op, want.Checksum)
			}
			if commit := max(tc.r0.commit, tc.r1.commit); r2.commitMax != commit {
				t.Fatalf("r2 commit %d, want the largest commit of the quorum, %d", r2.commitMax,
					commit)
			}
		})
	}
	// VRR §4.2 step 3: the new primary "selects as the new log the one contained in the
	// message with the largest v'; if several messages have the same v' it selects the one
	// among them with the largest n. It sets its op-number to that of the topmost entry in
	// the new log, sets its commit-number to the largest such number it received".
}

func TestPaper42Step3TruncationNeedsANackQuorum(t *testing.T) {
	h := harnessRegistered(t, 5, 1, nil) // op1 and op2 committed everywhere
	r1 := h.replica(1)
	committed := []PrepareHeader{*r1.journal.header(1), *r1.journal.header(2)}
	uncommitted, _ := h.chain(committed[1], []harnessChainLink{{view: 0, client: 9}})
	long := append(append([]PrepareHeader(nil), committed...), uncommitted...)
	h.timeOut(t, 1)
	enc := h.encoder()
	send := func(dvc DoViewChange) {
		h.inject(int(dvc.Replica), 1, harnessEncoded(enc.DoViewChange(&dvc)))
		h.deliver(-1, 1, []Command{CommandDoViewChange}, 0)
	}
	// r2 knows op3's header but never held its prepare; r3 recovered up to op3 and
	// abstains on it; r1 itself ends at op2. Two nacks of three needed.
	send(DoViewChange{Replica: 2, View: 1, Op: 3, Commit: 2, Present: 0b011, Headers: long})
	send(DoViewChange{Replica: 3, View: 1, Op: 2, Commit: 2, Present: 0b11, RecoveredOp: 3,
		Headers: committed})
	if !r1.viewChange.installed || r1.journal.op != 3 || r1.status != StatusViewChange {
		t.Fatalf("with two nacks of op3: %s, want op3 kept and the view not started",
			h.statusLine(1))
	}
	if n := r1.nacks(3, uncommitted[0].Checksum); n != 2 {
		t.Fatalf("%d nacks of op3, want 2 (r1's and r2's; r3 abstains)", n)
	}
	send(DoViewChange{Replica: 4, View: 1, Op: 2, Commit: 2, Present: 0b11, Headers: committed})
	if r1.status != StatusNormal || r1.journal.op != 2 {
		t.Fatalf("with three nacks of op3: %s, want op3 truncated and view 1 started",
			h.statusLine(1))
	}
	// VRR §4.2 step 3 installs the best log; an op of that log which no one in the quorum
	// holds must be truncated (it cannot be re-prepared), but only when it cannot have
	// committed: here, when R - (f+1) + 1 replicas say they never held it (a nack quorum,
	// as in Protocol-Aware Recovery). A replica that recovered past the op does not count.
}

func TestPaper42Steps4And5UncommittedOpsArePreparedAgain(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	if err := h.submit(1, KVInput{Op: KVPut, Key: "x", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(h.clientNode(1), 0, nil, 0)
	op := h.replica(0).journal.op
	checksum := h.replica(0).journal.header(op).Checksum
	h.deliver(0, 1, []Command{CommandPrepare}, 0) // only r1 holds it
	h.drop(-1, -1, []Command{CommandPrepare, CommandPrepareOk}, 0)
	h.crash(0)
	r1, r2 := h.replica(1), h.replica(2)
	for i := 0; i < 2000 && (r1.status != StatusNormal || r1.view != 1); i++ {
		h.tickNode(1, 1)
		h.tickNode(2, 1)
		h.deliver(-1, -1, []Command{CommandStartViewChange, CommandDoViewChange}, 0)
	}
	if r1.status != StatusNormal || r1.view != 1 || len(r1.primary.pipeline) != 1 ||
		r1.primary.pipeline[0].op != op {
		t.Fatalf("new primary %s, pipeline %+v; want op%d prepared again", h.statusLine(1),
			r1.primary.pipeline, op)
	}
	h.deliverOne(t, 1, 2, CommandStartView)
	if r2.status != StatusNormal || r2.view != 1 || r2.logView != 1 || r2.journal.op != op ||
		r2.journal.header(op).Checksum != checksum {
		t.Fatalf("backup after start_view: %s", h.statusLine(2))
	}
	if !r2.journal.known(op) || r2.journal.message(op) != nil {
		t.Fatalf("start_view gave r2 op%d's header only; it holds the prepare already?", op)
	}
	// r2 fetches op3's prepare (repair, or the primary's retry) and acknowledges it.
	replies := len(h.replies[0])
	for i := 0; i < 200 && r1.commitMax < op; i++ {
		h.tickNode(1, 1)
		h.tickNode(2, 1)
		h.drain()
	}
	if ack := r2.acked[op%HeadersMax]; ack.Op != op || ack.View != 1 || ack.Prepare != checksum {
		t.Fatalf("r2 acknowledged %+v, want op%d in view 1", ack, op)
	}
	if r1.commitMax != op || len(h.replies[0]) != replies+1 || h.replies[0][replies].op != op {
		t.Fatalf("op%d was not committed and answered in view 1: %s", op, h.statusLine(1))
	}
	// VRR §4.2 step 4: the new primary "starts accepting client requests. It also executes
	// (in order) any committed operations that it hadn't executed previously"; the ops
	// above the commit are prepared again in the new view. Step 5: a backup receiving
	// STARTVIEW "replaces its log with the one in the message, sets its op-number ...,
	// sets its view-number ..., changes its status to normal", and "sends a PREPAREOK
	// message to the primary" for the uncommitted operations, which then commit.
}

func TestPaper42ViewChangeTimeoutMovesToTheNextView(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	h.timeOut(t, 1)
	r1 := h.replica(1)
	ticks := 0
	for ; ticks < 10_000 && r1.view == 1; ticks++ {
		h.tickNode(1, 1)
	}
	base := int(h.config.ViewChangeTicks)
	if r1.view != 2 || r1.status != StatusViewChange || ticks < base || ticks > base*3/2 {
		t.Fatalf("after %d ticks of a view change that cannot finish: %s; want view 2 after %d to %d",
			ticks, h.statusLine(1), base, base*3/2)
	}
	// VRR §4.2: a view change may fail (the new primary may be down); then "the replicas
	// will start a new view change" to the next view after a timeout (here with jitter,
	// so replicas do not keep colliding).
}
