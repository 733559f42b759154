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
