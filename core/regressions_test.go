package core

import "testing"

// Regressions of bugs found by the core's unit tests. Each test says what broke.

// A backup that missed prepares but heard a heartbeat knows a commit beyond its head. Its
// do_view_change carried commit > op, which the decoder rejected, so every replica dropped
// it as corrupt and the view change went without it.
func TestLaggingBackupDoViewChangeIsAccepted(t *testing.T) {
	c := ctNewReplica(t, 1, 4)
	c.run(ctRegister(0xa)) // op 1, executed
	// The primary committed ops 2 and 3; replica 1 missed both prepares but hears the heartbeat.
	c.receive(c.enc.Commit(&Commit{Replica: 0, View: 0, Commit: 3, CommitChecksum: Checksum{Lo: 3, Hi: 3}}))
	c.receive(c.enc.StartViewChange(&StartViewChange{Replica: 0, View: 2}))
	c.receive(c.enc.StartViewChange(&StartViewChange{Replica: 2, View: 2}))
	d := NewDecoder(ctCluster, 3)
	sent := 0
	for _, m := range c.bus.toReplica {
		command, err := d.Decode(m)
		if err != nil {
			t.Errorf("replica 1 sent a %v that every replica rejects: %v", Command(m[60]), err)
		}
		if command == CommandDoViewChange {
			sent++
			if d.DoViewChange.Commit <= d.DoViewChange.Op {
				t.Errorf("the do_view_change lost what the replica knew: op %d commit %d", d.DoViewChange.Op, d.DoViewChange.Commit)
			}
		}
	}
	if sent == 0 {
		t.Fatal("no do_view_change sent")
	}
}

// A request too large to fit in any prepare was queued, and the primary then panicked
// trying to batch it. It must be dropped.
func TestOversizedRequestIsDropped(t *testing.T) {
	const a = ClientID(0xa)
	c := ctNewReplica(t, 0, 4)
	register := ctRegister(a)
	c.receive(c.enc.Request(&register))
	c.receive(c.enc.PrepareOk(&PrepareOk{Replica: 1, View: 0, Op: 1, Prepare: c.r.journal.header(1).Checksum}))
	big := Request{Client: a, Session: 1, Request: 1, Operation: OperationApply,
		Body: make([]byte, c.r.config.MessageSizeMax)} // within the codec's 1 MiB bound
	message := c.enc.Request(&big)
	if _, err := NewDecoder(ctCluster, 3).Decode(message); err != nil {
		t.Fatalf("decoder rejects it: %v", err)
	}
	op := c.r.journal.op
	if text, panicked := unitRecover(func() { c.r.Receive(message) }); panicked {
		t.Fatalf("a client's request panicked the primary: %s", text)
	}
	if c.r.journal.op != op || len(c.r.primary.queue) != 0 {
		t.Fatalf("the oversized request was queued or prepared (op %d -> %d)", op, c.r.journal.op)
	}
}

// A prepare of an older view, far beyond a backup's head, reached journal.acceptPrepare,
// which indexed the journal at its op before checking the op was within the log: past the
// first chunk of the journal that is an index out of range (swarm seeds with 2,500
// requests; seeds/long-1-prepare-beyond-journal.json). Beyond the head it is dropped.
func TestPrepareBeyondTheJournalIsDropped(t *testing.T) {
	c := jrnNewChains()
	j := c.jrnNew(3)
	far := codecChain(c.a[3].Checksum, journalChunk+7, 1, 1)[0]
	if text, panicked := unitRecover(func() { j.acceptPrepare(&far, jrnMessage(far), 0) }); panicked {
		t.Fatalf("a prepare beyond the journal panicked it: %s", text)
	}
	if j.acceptPrepare(&far, jrnMessage(far), 0) || j.op != 3 || j.message(far.Op) != nil {
		t.Fatalf("a prepare beyond the head was taken: head %d", j.op)
	}
}
