package core

// Paper-conformance tests: one test per rule of "Viewstamped Replication Revisited"
// (Liskov and Cowling, 2012), section 4.1 (normal operation), 4.2 (view changes), 4.3
// (recovery), and the client table. Each test sets up the state the rule speaks of on a
// harness cluster, takes the one step the rule is about, checks what the replicas did and
// sent, and ends with a comment quoting the rule it checks. Where this implementation
// departs from the paper on purpose (as TigerBeetle does), the comment says how.

import (
	"bytes"
	"testing"
)

// harnessRequest encodes a client's request as the client would send it.
func (h *harness) request(m Request) []byte {
	return append([]byte(nil), h.encoder().Request(&m)...)
}

// harnessPut is a put of key=value, encoded for a request body.
func harnessPut(key, value string) []byte {
	return EncodeKV(nil, KVInput{Op: KVPut, Key: key, Value: value})
}

// registered returns a cluster whose clients have all registered and written once, with
// every replica settled.
func harnessRegistered(t *testing.T, replicas, clients int, change func(*Config)) *harness {
	t.Helper()
	h := harnessNew(replicas, clients, change)
	for k := 1; k <= clients; k++ {
		if err := h.submit(ClientID(k), KVInput{Op: KVPut, Key: "k", Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	h.settle(t)
	return h
}

func TestPaper41Step1BackupDropsClientRequests(t *testing.T) {
	h := harnessNew(3, 1, nil)
	client := h.clientNode(1)
	h.inject(client, 1, h.request(Request{Client: 1, Operation: OperationRegister}))
	dropped := h.replica(1).stats.Dropped
	h.deliverAll()
	if got := h.sent(1); len(got) != 0 || h.replica(1).journal.op != 0 {
		t.Fatalf("backup r1 handled a request: sent %q, op %d", got, h.replica(1).journal.op)
	}
	if h.replica(1).stats.Dropped != dropped+1 {
		t.Fatalf("backup r1 did not count the request it dropped")
	}
	h.inject(client, 0, h.request(Request{Client: 1, Operation: OperationRegister}))
	h.deliverAll()
	if n := len(h.messages(0, -1, CommandPrepare)); n != 2 {
		t.Fatalf("the primary sent %d prepares for the request, want 2", n)
	}
	// VRR §4.1 step 1: "The client sends a REQUEST message to the primary"; only the
	// primary acts on it, and a backup drops it (the client finds the primary by retrying).
}

func TestPaper41Step3PrimaryAppendsAndSendsPrepare(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r0 := h.replica(0)
	op, commit := r0.journal.op, r0.commitMax
	session := h.client(1).session
	h.inject(h.clientNode(1), 0, h.request(Request{Client: 1, Session: session, Request: 2,
		Operation: OperationApply, Body: harnessPut("x", "1")}))
	h.deliverAll()
	if r0.journal.op != op+1 {
		t.Fatalf("primary op %d after a request at op %d", r0.journal.op, op)
	}
	head := r0.journal.header(op + 1)
	for _, target := range []int{1, 2} {
		prepares := h.messages(0, target, CommandPrepare)
		if len(prepares) != 1 {
			t.Fatalf("%d prepares to r%d, want 1", len(prepares), target)
		}
		p := &h.decode(t, prepares[0]).Prepare
		if p.View != 0 || p.Op != op+1 || p.Commit != commit || p.Checksum != head.Checksum ||
			p.Parent != r0.journal.header(op).Checksum {
			t.Fatalf("prepare to r%d: %s; want view 0, op %d, commit %d, parent op %d",
				target, DescribeHeader(&p.PrepareHeader), op+1, commit, op)
		}
	}
	// VRR §4.1 step 3: "The primary advances op-number, adds the request to the end of the
	// log, ... Then it sends a ⟨PREPARE v, m, n, k⟩ message to the other replicas", with
	// its view, the op and its commit number; here the prepare also names its parent's
	// checksum, chaining the log.
}

func TestPaper41Step4BackupAcksOnlyOpsItHoldsOnItsChain(t *testing.T) {
	h := harnessNew(3, 2, nil)
	for k := ClientID(1); k <= 2; k++ {
		h.inject(h.clientNode(k), 0, h.request(Request{Client: k, Operation: OperationRegister}))
		h.deliver(h.clientNode(k), 0, nil, 0)
	}
	h.drop(0, 1, []Command{CommandPrepare}, 1) // op1 never reaches r1
	h.deliver(0, 1, []Command{CommandPrepare}, 0)
	r1 := h.replica(1)
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 0 {
		t.Fatalf("r1 holds op2 but not op1, and acknowledged: %q", h.sent(1))
	}
	if r1.journal.op != 0 || r1.journal.known(1) || r1.journal.known(2) {
		t.Fatalf("r1 took op2 into its log beyond uncommitted op1: head %d", r1.journal.op)
	}
	// op2 waits outside the log; repair asks the primary for op1 by the checksum op2 names.
	op1, op2 := h.replica(0).journal.header(1).Checksum, h.replica(0).journal.header(2).Checksum
	for i := 0; i < 200 && !r1.journal.held(2, op2); i++ {
		h.tickNode(1, 1)
		h.drain()
	}
	if !r1.journal.held(1, op1) || !r1.journal.held(2, op2) {
		t.Fatalf("r1 did not repair op1 and take op2: head %d", r1.journal.op)
	}
	if r1.acked[1].Prepare != op1 || r1.acked[2].Prepare != op2 {
		t.Fatalf("r1 holds op1 and op2 but did not acknowledge both: %+v %+v", r1.acked[1], r1.acked[2])
	}
	// VRR §4.1 step 4: "Backups process PREPARE messages in order: a backup won't accept a
	// prepare with op-number n until it has entries for all earlier requests in its log."
	// A prepare ahead of an uncommitted op waits outside the log until that op arrives; only
	// above ops known to be committed may the log have a gap (repair fills those from the
	// quorum that holds them).
}

func TestPaper41Step4DuplicatePrepareReackedOnlyIfSameChecksum(t *testing.T) {
	h := harnessNew(3, 1, nil)
	h.inject(h.clientNode(1), 0, h.request(Request{Client: 1, Operation: OperationRegister}))
	h.deliverAll()
	original := h.messages(0, 1, CommandPrepare)[0].data
	h.deliver(0, 1, nil, 0)
	h.drop(1, 0, nil, 0)
	// The same prepare again: the primary may have lost the acknowledgement.
	h.inject(0, 1, original)
	h.deliver(0, 1, nil, 0)
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 1 {
		t.Fatalf("a retransmitted prepare got %d acknowledgements, want 1", len(acks))
	}
	h.drop(1, 0, nil, 0)
	// Another prepare at op1 in the same view, with another body and checksum.
	root := *h.replica(1).journal.header(0)
	forged, messages := h.chain(root, []harnessChainLink{{view: 0, client: 7}})
	h.inject(0, 1, messages[0])
	h.deliver(0, 1, nil, 0)
	if got := h.sent(1); len(got) != 0 {
		t.Fatalf("r1 acknowledged a different prepare %v at op1: %q", forged[0].Checksum, got)
	}
	if h.replica(1).journal.header(1).Checksum == forged[0].Checksum {
		t.Fatalf("r1 replaced its op1 with a different prepare of the same view")
	}
	// VRR §4.1 step 4: the backup "sends a ⟨PREPAREOK v, n, i⟩ message to the primary" for
	// the prepare it added; a prepare it already holds is acknowledged again (the primary
	// resends until it hears), but only after comparing checksums: a different prepare at
	// the same op is neither taken nor acknowledged.
}

func TestPaper41Step5PrimaryCommitsAfterFPrepareOks(t *testing.T) {
	for replicas := 1; replicas <= 6; replicas++ {
		h := harnessNew(replicas, 1, nil)
		h.inject(h.clientNode(1), 0, h.request(Request{Client: 1, Operation: OperationRegister}))
		h.deliver(h.clientNode(1), 0, nil, 0)
		h.deliver(0, -1, []Command{CommandPrepare}, 0)
		quorum := replicas/2 + 1
		r0 := h.replica(0)
		for acks := 1; ; acks++ { // the primary's own is the first
			committed := r0.commitMax == 1
			if committed != (acks >= quorum) {
				t.Fatalf("%d replicas: committed %v with %d of %d acknowledgements", replicas,
					committed, acks, quorum)
			}
			if committed != (len(h.messages(0, h.clientNode(1), CommandReply)) == 1) {
				t.Fatalf("%d replicas: committed %v, but the reply says otherwise", replicas,
					committed)
			}
			if acks == replicas {
				break
			}
			h.deliverOne(t, acks, 0, CommandPrepareOk)
		}
	}
	// VRR §4.1 step 5: "The primary waits for f PREPAREOK messages from different
	// backups; at this point it considers the operation ... to be committed", then
	// executes it and "sends a ⟨REPLY v, s, x⟩ message to the client": f+1 replicas with
	// itself, a majority of any cluster size.
}

func TestPaper41Step5PrimaryCommitsInOpOrder(t *testing.T) {
	h := harnessNew(3, 2, nil)
	for k := ClientID(1); k <= 2; k++ {
		h.inject(h.clientNode(k), 0, h.request(Request{Client: k, Operation: OperationRegister}))
		h.deliver(h.clientNode(k), 0, nil, 0)
	}
	h.deliver(0, 1, nil, 0)
	acks := h.messages(1, 0, CommandPrepareOk)
	if len(acks) != 2 {
		t.Fatalf("r1 sent %d acknowledgements, want 2", len(acks))
	}
	h.take(acks[0].seq)
	h.receive(acks[1]) // op2's, alone
	r0 := h.replica(0)
	if r0.commitMax != 0 || r0.commitMin != 0 {
		t.Fatalf("op2 held by a quorum committed before op1: commit %d/%d", r0.commitMin,
			r0.commitMax)
	}
	h.receive(acks[0])
	if r0.commitMax != 2 || r0.commitMin != 2 {
		t.Fatalf("op1 acknowledged: commit %d/%d, want both ops", r0.commitMin, r0.commitMax)
	}
	// VRR §4.1 step 5: the primary "executes the operation ... after it has executed all
	// earlier operations", and commits are cumulative: op n commits only with every op
	// before it.
}

func TestPaper41Step5PrimaryCountsOnlyAcksOfThisViewAndPrepare(t *testing.T) {
	h := harnessNew(3, 1, nil)
	h.inject(h.clientNode(1), 0, h.request(Request{Client: 1, Operation: OperationRegister}))
	h.deliver(h.clientNode(1), 0, nil, 0)
	r0 := h.replica(0)
	checksum := r0.journal.header(1).Checksum
	enc := h.encoder()
	for _, ack := range []PrepareOk{
		{Replica: 1, View: 1, Op: 1, Prepare: checksum},        // another view
		{Replica: 1, View: 0, Op: 1, Prepare: Checksum{Lo: 1}}, // another prepare at op1
		{Replica: 0, View: 0, Op: 1, Prepare: checksum},        // the primary itself
		{Replica: 2, View: 0, Op: 2, Prepare: Checksum{Lo: 2}}, // beyond the head
	} {
		h.inject(int(ack.Replica), 0, append([]byte(nil), enc.PrepareOk(&ack)...))
		h.deliver(-1, 0, []Command{CommandPrepareOk}, 0)
		if r0.commitMax != 0 || r0.primary.pipeline[0].acks.count() != 1 {
			t.Fatalf("prepare_ok %+v counted: commit %d, acks %b", ack, r0.commitMax,
				r0.primary.pipeline[0].acks)
		}
	}
	// VRR §4.1 step 5: the primary waits for PREPAREOK messages "from different backups"
	// for this op in its view; an acknowledgement of another view, of another prepare at
	// the op (checksums compared) or from itself is not one of them.
}

func TestPaper41Step5OnlyThePrimaryReplies(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	if err := h.submit(1, KVInput{Op: KVGet, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	h.tickNode(0, int(h.config.HeartbeatTicks)) // the backups learn the commit and execute
	h.drain()
	for i := 1; i < 3; i++ {
		if h.replica(i).commitMin != h.replica(0).commitMin {
			t.Fatalf("r%d executed op %d, the primary %d", i, h.replica(i).commitMin,
				h.replica(0).commitMin)
		}
		if n := h.replica(i).stats.Received[CommandRequest]; n != 0 {
			t.Fatalf("r%d received %d requests", i, n)
		}
	}
	if len(h.replies[0]) != 2 || h.client(1).stats.Dropped != 0 {
		t.Fatalf("the client saw %d replies and dropped %d, want 2 replies from the primary only",
			len(h.replies[0]), h.client(1).stats.Dropped)
	}
	// VRR §4.1 steps 5 and 7: the primary executes and sends the REPLY; a backup executes
	// the same ops "but does not send the reply to the client".
}

func TestPaper41Step6IdlePrimarySendsCommit(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r0 := h.replica(0)
	h.tickNode(0, int(h.config.HeartbeatTicks)-1)
	if n := len(h.messages(0, -1, CommandCommit)); n != 0 {
		t.Fatalf("the primary sent %d commits before its heartbeat was due", n)
	}
	h.tickNode(0, 1)
	commits := h.messages(0, -1, CommandCommit)
	if len(commits) != 2 {
		t.Fatalf("the primary sent %d commits at its heartbeat, want one to each backup",
			len(commits))
	}
	for _, m := range commits {
		c := h.decode(t, m).Commit
		if c.View != 0 || c.Commit != r0.commitMax ||
			c.CommitChecksum != r0.journal.header(r0.commitMax).Checksum {
			t.Fatalf("commit %+v, want view 0 commit %d", c, r0.commitMax)
		}
	}
	// VRR §4.1 step 6: "Normally the primary informs backups about the commit when it sends
	// the next PREPARE message", but "if the primary does not receive a new client request
	// in a timely way, it instead informs the backups of the latest commit by sending them
	// a ⟨COMMIT v, k⟩ message".
}

func TestPaper41Step7BackupExecutesCommittedOpsInOrder(t *testing.T) {
	h := harnessNew(3, 2, nil)
	for k := ClientID(1); k <= 2; k++ {
		h.inject(h.clientNode(k), 0, h.request(Request{Client: k, Operation: OperationRegister}))
		h.deliver(h.clientNode(k), 0, nil, 0)
	}
	h.drop(0, 1, []Command{CommandPrepare}, 1) // r1 misses op1
	h.deliver(0, -1, []Command{CommandPrepare}, 0)
	h.deliver(2, 0, nil, 0) // r2 makes the quorum: op1 and op2 commit
	r1 := h.replica(1)
	h.tickNode(0, int(h.config.HeartbeatTicks))
	h.deliver(0, 1, []Command{CommandCommit}, 0)
	if r1.commitMax != 2 || r1.commitMin != 0 {
		t.Fatalf("r1 knows commit %d without op1: executed %d, want 0", r1.commitMax, r1.commitMin)
	}
	for i := 0; i < 200 && r1.commitMin < 2; i++ {
		h.tickNode(1, 1)
		h.drain()
	}
	if r1.commitMin != 2 || h.machines[1].Digest() != h.machines[0].Digest() {
		t.Fatalf("r1 executed %d after repairing op1, digest %v, primary %v",
			r1.commitMin, h.machines[1].Digest(), h.machines[0].Digest())
	}
	// VRR §4.1 step 7: "When a backup learns of a commit, it waits until it has the
	// request in its log ... and until it has executed all earlier operations. Then it
	// executes the operation".
}

func TestPaper41StaleViewMessagesDropped(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r0 := h.replica(0)
	head := *r0.journal.header(r0.journal.op)
	// Move everyone to view 1 (r1 primary) by letting the backups time out on a silent r0.
	h.crash(0)
	for i := 0; i < 1000 && !(h.replica(1).status == StatusNormal && h.replica(1).view == 1); i++ {
		h.tickNode(1, 1)
		h.tickNode(2, 1)
		h.drain()
	}
	if h.replica(2).view != 1 || h.replica(2).status != StatusNormal {
		t.Fatalf("no view 1: %s", h.statusLine(2))
	}
	stale, messages := h.chain(head, []harnessChainLink{{view: 0, client: 9}})
	enc := h.encoder()
	commit := Commit{Replica: 0, View: 0, Commit: stale[0].Op, CommitChecksum: stale[0].Checksum}
	for _, message := range [][]byte{messages[0], append([]byte(nil), enc.Commit(&commit)...)} {
		h.inject(0, 2, message)
		h.deliver(0, 2, nil, 0)
		r2 := h.replica(2)
		if r2.journal.op != head.Op || r2.commitMax != head.Op || len(h.sent(2)) != 0 {
			t.Fatalf("r2 in view 1 took a message of view 0: op %d commit %d, sent %q",
				r2.journal.op, r2.commitMax, h.sent(2))
		}
	}
	// VRR §4 and §4.1 step 4: replicas "only process normal protocol messages containing a
	// view-number that matches the view-number they know"; messages of an older view are
	// dropped.
}

// timeOut ticks replica i alone until its patience with the primary runs out.
func (h *harness) timeOut(t *testing.T, i int) {
	t.Helper()
	r := h.replica(i)
	view := r.view
	for n := 0; n < 10_000 && r.view == view; n++ {
		h.tickNode(i, 1)
	}
	if r.view != view+1 || r.status != StatusViewChange {
		t.Fatalf("r%d did not time out: %s", i, h.statusLine(i))
	}
}

// encoded copies an encoder's output.
func harnessEncoded(message []byte) []byte { return append([]byte(nil), message...) }

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

func TestPaper43Step1RestartedReplicaSendsRecoveryWithANonce(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	var nonces []uint64
	for life := 0; life < 2; life++ {
		h.crash(2)
		h.restart(2)
		r2 := h.replica(2)
		if r2.status != StatusRecovering || r2.journal.op != 0 || r2.recovery.nonce == 0 {
			t.Fatalf("restarted: %s, nonce %x", h.statusLine(2), r2.recovery.nonce)
		}
		recoveries := h.messages(2, -1, CommandRecovery)
		if len(recoveries) != 2 {
			t.Fatalf("the recovering replica sent %q, want a recovery to each other replica",
				h.sent(2))
		}
		for _, m := range recoveries {
			if h.decode(t, m).Recovery.Nonce != r2.recovery.nonce {
				t.Fatalf("a recovery without the replica's nonce")
			}
		}
		nonces = append(nonces, r2.recovery.nonce)
		h.drop(2, -1, nil, 0)
	}
	if nonces[0] == nonces[1] {
		t.Fatalf("two recoveries with the same nonce %x", nonces[0])
	}
	// VRR §4.3 step 1: "The recovering replica, i, sends a ⟨RECOVERY i, x⟩ message to all
	// other replicas, where x is a nonce", fresh for each recovery.
}

func TestPaper43RecoveringReplicaTakesNoPart(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	head := *h.replica(0).journal.header(h.replica(0).journal.op)
	h1 := *h.replica(0).journal.header(1)
	h.crash(2)
	h.restart(2)
	h.drop(2, -1, nil, 0)
	_, prepares := h.chain(head, []harnessChainLink{{view: 0, client: 9}})
	enc := h.encoder()
	messages := map[string][]byte{}
	add := func(name string, message []byte) { messages[name] = harnessEncoded(message) }
	add("prepare", prepares[0])
	add("commit", enc.Commit(&Commit{Replica: 0, View: 0, Commit: head.Op,
		CommitChecksum: head.Checksum}))
	add("request_prepare", enc.RequestPrepare(&RequestPrepare{Replica: 0, Op: 1,
		Checksum: h1.Checksum}))
	add("request_headers", enc.RequestHeaders(&RequestHeaders{Replica: 0, OpMin: 1, OpMax: 1}))
	add("ping", enc.Ping(&Ping{Replica: 0}))
	add("recovery", enc.Recovery(&Recovery{Replica: 1, Nonce: 5}))
	add("do_view_change", enc.DoViewChange(&DoViewChange{Replica: 0, View: 2, Op: 1, Present: 1,
		Headers: []PrepareHeader{h1}}))
	for _, name := range []string{"prepare", "commit", "request_prepare", "request_headers", "ping",
		"recovery", "do_view_change"} {
		h.inject(0, 2, messages[name])
		h.deliver(-1, 2, nil, 0)
		if r2 := h.replica(2); len(h.sent(2)) != 0 || r2.status != StatusRecovering ||
			r2.journal.op != 0 {
			t.Fatalf("a recovering replica took a %s: %s, sent %q", name, h.statusLine(2),
				h.sent(2))
		}
	}
	for _, from := range []ReplicaIndex{0, 1} {
		h.inject(int(from), 2, h.svc(from, 1))
	}
	h.deliver(-1, 2, nil, 0)
	if r2 := h.replica(2); r2.status != StatusRecovering || len(h.sent(2)) != 0 {
		t.Fatalf("a recovering replica joined a view change: %s, sent %q", h.statusLine(2),
			h.sent(2))
	}
	// VRR §4.3: "the recovering replica does not participate in the request processing
	// protocol or the view change protocol" until it has recovered: it acknowledges,
	// answers and votes for nothing.
}

func TestPaper43Step2OnlyNormalReplicasAnswerAndOnlyThePrimarySendsItsLog(t *testing.T) {
	h := harnessRegistered(t, 5, 1, nil)
	h.timeOut(t, 1) // r1 is changing views: it must not answer
	h.drop(1, -1, nil, 0)
	h.crash(4)
	h.restart(4)
	h.deliver(4, -1, []Command{CommandRecovery}, 0)
	r0 := h.replica(0)
	nonce := h.replica(4).recovery.nonce
	if got := h.messages(1, 4, CommandRecoveryResponse); len(got) != 0 {
		t.Fatalf("r1, changing views, answered a recovery")
	}
	for _, from := range []int{0, 2, 3} {
		responses := h.messages(from, 4, CommandRecoveryResponse)
		if len(responses) != 1 {
			t.Fatalf("r%d sent %q, want one recovery_response", from, h.sent(from))
		}
		m := h.decode(t, responses[0]).RecoveryResponse
		if m.View != 0 || m.Nonce != nonce {
			t.Fatalf("r%d answered view %d nonce %x, want view 0 nonce %x", from, m.View, m.Nonce,
				nonce)
		}
		hasLog := m.Op != 0 || len(m.Headers) != 0
		if hasLog != (from == 0) {
			t.Fatalf("r%d answered with op %d and %d headers", from, m.Op, len(m.Headers))
		}
		if from == 0 && (m.Op != r0.journal.op || m.Commit != r0.commitMax ||
			m.Headers[len(m.Headers)-1].Checksum != r0.journal.header(r0.journal.op).Checksum) {
			t.Fatalf("the primary answered op %d commit %d, want its log: op %d commit %d",
				m.Op, m.Commit, r0.journal.op, r0.commitMax)
		}
	}
	// VRR §4.3 step 2: "A replica j replies to a RECOVERY message only when its status is
	// normal. In this case the replica sends a ⟨RECOVERYRESPONSE v, x, l, n, k, j⟩ message
	// to the recovering replica, where v is its view-number and x is the nonce in the
	// RECOVERY message. If j is the primary of its view, l is its log, n is its op-number,
	// and k is the commit-number; otherwise these values are nil."
}

func TestPaper43Step3RecoveryNeedsAQuorumWithThePrimary(t *testing.T) {
	h := harnessRegistered(t, 5, 1, nil)
	h.crash(4)
	h.restart(4)
	r4, r0 := h.replica(4), h.replica(0)
	h.deliver(4, -1, []Command{CommandRecovery}, 0)
	h.deliver(1, 4, nil, 0)
	h.deliver(2, 4, nil, 0)
	h.deliver(3, 4, nil, 0)
	if r4.status != StatusRecovering {
		t.Fatalf("recovered with f+1 answers but not the primary's: %s", h.statusLine(4))
	}
	// Answers to an older recovery (another nonce) do not count, and do not replace the
	// answers to this one: r1's stale answer leaves r1's good one counted.
	enc := h.encoder()
	h.handle(1, 4, harnessEncoded(enc.RecoveryResponse(&RecoveryResponse{Replica: 1,
		Nonce: r4.recovery.nonce ^ 2})))
	h.handle(3, 4, harnessEncoded(enc.RecoveryResponse(&RecoveryResponse{Replica: 3,
		Nonce: r4.recovery.nonce ^ 2})))
	stale := RecoveryResponse{Replica: 0, View: 0, Nonce: r4.recovery.nonce ^ 2, Op: r0.journal.op,
		Commit: r0.commitMax, Headers: r0.window()}
	h.handle(0, 4, harnessEncoded(enc.RecoveryResponse(&stale)))
	if r4.status != StatusRecovering {
		t.Fatalf("recovered on a response with another nonce: %s", h.statusLine(4))
	}
	h.drop(-1, 4, nil, 0)
	h.drop(-1, -1, []Command{CommandRecoveryResponse}, 0)
	h.handle(4, 0, harnessEncoded(enc.Recovery(&Recovery{Replica: 4, Nonce: r4.recovery.nonce})))
	h.deliver(0, 4, []Command{CommandRecoveryResponse}, 0)
	if r4.status != StatusNormal || r4.view != 0 || r4.journal.op != r0.journal.op ||
		r4.commitMax != r0.commitMax {
		t.Fatalf("after the primary's answer: %s, want the primary's log", h.statusLine(4))
	}
	if r4.recovery.recoveredOp != r0.journal.op ||
		r4.ownDoViewChange().RecoveredOp != r0.journal.op {
		t.Fatalf("recovered to op %d, remembers %d", r0.journal.op, r4.recovery.recoveredOp)
	}
	// VRR §4.3 step 3: "The recovering replica waits to receive at least f + 1
	// RECOVERYRESPONSE messages from different replicas, all containing the nonce it sent
	// in its RECOVERY message, including one from the primary of the latest view it learns
	// of in these messages. Then it updates its state using the information from the
	// primary, changes its status to normal". It also remembers the op it recovered to:
	// it may have acknowledged ops up to there before it crashed, so it never nacks them.
}

// tableClient is c1 of a settled cluster after two writes: its session, and its latest
// request number (2) with the reply the table kept for it.
func harnessTableClient(t *testing.T, change func(*Config)) (*harness, Session, []byte) {
	t.Helper()
	h := harnessRegistered(t, 3, 1, change)
	if err := h.submit(1, KVInput{Op: KVAppend, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.settle(t)
	entry := h.replica(0).clients.get(1)
	if entry == nil || entry.request != 2 {
		t.Fatalf("c1's table entry %+v, want request 2", entry)
	}
	return h, entry.session, append([]byte(nil), h.replica(0).cachedReply(1, entry)...)
}

// applyRequest is c1's request number n in session s, a put.
func (h *harness) applyRequest(session Session, n RequestNumber) []byte {
	return h.request(Request{Client: 1, Session: session, Request: n, Operation: OperationApply,
		Body: harnessPut("k", "again")})
}

func TestPaperClientTableOlderRequestIsDropped(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	op := h.replica(0).journal.op
	h.handle(h.clientNode(1), 0, h.applyRequest(session, 1))
	if sent := h.sent(0); len(sent) != 0 || h.replica(0).journal.op != op {
		t.Fatalf("a request older than the table's latest was answered or prepared: %q", sent)
	}
	// VRR §4.1 step 2: "If the request-number s isn't bigger than the information in the
	// table it drops the request" (an older request: its reply is no longer kept).
}

func TestPaperClientTableLatestRequestGetsTheCachedReply(t *testing.T) {
	h, session, reply := harnessTableClient(t, nil)
	op := h.replica(0).journal.op
	h.handle(h.clientNode(1), 0, h.applyRequest(session, 2))
	replies := h.messages(0, h.clientNode(1), CommandReply)
	if len(replies) != 1 || !bytes.Equal(replies[0].data, reply) || h.replica(0).journal.op != op {
		t.Fatalf("the latest request again got %q and op %d, want the kept reply, not a new op",
			h.sent(0), h.replica(0).journal.op)
	}
	if got := h.kvLines(0)[0]; got != `r0: k="vw"` {
		t.Fatalf("the state after the retry: %s", got)
	}
	// VRR §4.1 step 2: "if it was the most recent request, it will re-send the response",
	// without executing it again: exactly once.
}

func TestPaperClientTableRequestInFlightIsNotPreparedTwice(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	request := h.applyRequest(session, 3)
	h.handle(h.clientNode(1), 0, request)
	if n := len(h.messages(0, -1, CommandPrepare)); n != 2 {
		t.Fatalf("the next request: %d prepares, want one to each backup", n)
	}
	h.handle(h.clientNode(1), 0, request)
	if n := len(h.messages(0, -1, CommandPrepare)); n != 2 {
		t.Fatalf("the same request again while it is prepared: %d prepares, want still 2", n)
	}
	// VRR §4.1 steps 2-3: a request is prepared once; a retry of a request the primary is
	// still preparing is dropped, and its reply comes when it commits.
}

func TestPaperClientTableChangesOnlyWhenAnOpExecutes(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	h.handle(h.clientNode(1), 0, h.applyRequest(session, 3))
	h.deliver(0, -1, []Command{CommandPrepare}, 0)
	for i := 0; i < 3; i++ {
		if e := h.replica(i).clients.get(1); e.request != 2 {
			t.Fatalf("r%d's table says request %d before the op executed", i, e.request)
		}
	}
	h.deliver(1, 0, nil, 0)
	if e := h.replica(0).clients.get(1); e.request != 3 {
		t.Fatalf("the primary executed request 3; its table says %d", e.request)
	}
	// VRR §4.1 step 3 has the primary update the client table when a request arrives and
	// step 4 has the backups update it when they add a prepare. Here, as TigerBeetle
	// corrected it, the table changes only when an op executes: a request that a view
	// change drops must not move the client's number, or the client would be locked out.
}

func TestPaperClientTableRequestThatSkipsANumberIsDropped(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	h.handle(h.clientNode(1), 0, h.applyRequest(session, 4))
	if sent := h.sent(0); len(sent) != 0 {
		t.Fatalf("request 4 after request 2 was taken: %q", sent)
	}
	// VRR §4.1: "a client is allowed to have just one outstanding request at a time", each
	// numbered one more than the last; a number that skips one was not sent by a correct
	// client and is dropped.
}

func TestPaperClientTableUnknownSessionGetsAnEviction(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	h.handle(h.clientNode(1), 0, h.applyRequest(session+100, 1))
	evictions := h.messages(0, h.clientNode(1), CommandEviction)
	if len(evictions) != 1 || h.decode(t, evictions[0]).Eviction.Session != session+100 {
		t.Fatalf("a request of a session the table does not know got %q, want an eviction",
			h.sent(0))
	}
	// The client table (VRR §4.1, bounded as in TigerBeetle): a session the cluster does
	// not know was evicted, or is from before a restart; the client must register again.
}

func TestPaperClientTableRetriedRegisterGetsTheCachedReply(t *testing.T) {
	h := harnessNew(3, 1, nil)
	register := h.request(Request{Client: 1, Operation: OperationRegister})
	h.handle(h.clientNode(1), 0, register)
	h.drain()
	h.handle(h.clientNode(1), 0, register)
	replies := h.messages(0, h.clientNode(1), CommandReply)
	if len(replies) != 1 || h.decode(t, replies[0]).Reply.Session != 1 ||
		h.replica(0).journal.op != 1 {
		t.Fatalf("a retried register got %q, want the kept reply with session 1", h.sent(0))
	}
	// The client table (VRR §4.1 step 2, sessions registered through the log): a register
	// is a request like any other; retried, it gets the reply kept for it, with the same
	// session, and registers nothing new.
}

func TestPaperClientTableFullTableEvictsTheOldestSession(t *testing.T) {
	h := harnessNew(3, 3, func(c *Config) { c.ClientTableMax = 2 })
	for k := ClientID(1); k <= 3; k++ {
		if err := h.submit(k, KVInput{Op: KVPut, Key: "k", Value: "v"}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	for i := 0; i < 3; i++ {
		table := h.replica(i).clients
		if table.get(1) != nil || table.get(2) == nil || table.get(3) == nil {
			t.Fatalf("r%d's table %s, want c1 evicted", i, h.clientTableLines(i))
		}
	}
	if c1 := h.client(1); c1.session != 0 || c1.stats.Evictions != 1 {
		t.Fatalf("c1 was not told of its eviction: session %d", c1.session)
	}
	old := h.replica(0).clients.get(2).session
	if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.settle(t)
	// c1 may register under a new identity: look it up by the one it has now.
	if e := h.replica(0).clients.get(h.client(1).ID()); e == nil || e.session <= old ||
		h.replica(0).clients.get(2) != nil {
		t.Fatalf("c1 registered again: %s", h.clientTableLines(0))
	}
	// The client table (VRR §4.1, bounded as in TigerBeetle): a register into a full table
	// evicts the session whose latest commit is oldest, the same on every replica, and
	// the primary tells the client; a session registered later has a higher number.
}

func TestPaperClientTableARequestTwiceInTheLogRunsOnce(t *testing.T) {
	h, session, _ := harnessTableClient(t, nil)
	r1 := h.replica(1)
	head := *r1.journal.header(r1.journal.op)
	request := Request{Client: 1, Session: session, Request: 3, Operation: OperationApply,
		Body: EncodeKV(nil, KVInput{Op: KVAppend, Key: "k", Value: "z"})}
	batch := appendBatchEntry(nil, &request)
	enc := h.encoder()
	for i := 0; i < 2; i++ { // the primary of view 0 prepares the same request twice
		hd := PrepareHeader{Replica: 0, View: 0, Op: head.Op + 1, Commit: head.Op,
			Parent: head.Checksum, Timestamp: head.Timestamp + 1, Requests: 1}
		h.handle(0, 1, harnessEncoded(enc.Prepare(&hd, batch)))
		head = hd
	}
	h.handle(0, 1, harnessEncoded(enc.Commit(&Commit{Replica: 0, View: 0, Commit: head.Op,
		CommitChecksum: head.Checksum})))
	if r1.commitMin != head.Op {
		t.Fatalf("r1 executed up to op %d, want op %d", r1.commitMin, head.Op)
	}
	if got := h.kvLines(1)[0]; got != `r1: k="vwz"` {
		t.Fatalf("a request twice in the log: %s, want it run once", got)
	}
	// VRR §4.1 step 7 and the client table: each replica executes a request only if it is
	// the client's next one; a request that reaches the log twice (a client's retry
	// prepared again after a view change) runs once, the same on every replica.
}
