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
