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
