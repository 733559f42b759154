package core

import (
	"bytes"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

func TestClientTableRegisterGetUpdate(t *testing.T) {
	table := newClientTable(3)
	if table.get(7) != nil || table.full() {
		t.Fatalf("a new table knows client 7 or is full")
	}
	table.register(7, 12, []byte("registered"), 12, 4)
	e := table.get(7)
	if e == nil || e.client != 7 || e.session != 12 || e.request != 0 || e.commit != 12 ||
		e.index != 4 || string(e.output) != "registered" {
		t.Fatalf("after register: %+v", e)
	}
	e.update(1, []byte("one"), 15, 0)
	e.update(2, []byte("two"), 15, 1) // the same op, later in its batch
	e = table.get(7)
	if e.request != 2 || e.commit != 15 || e.index != 1 || string(e.output) != "two" {
		t.Fatalf("after two updates: %+v", e)
	}
	if table.get(8) != nil {
		t.Fatalf("client 8 was never registered")
	}
}

func TestClientTableEvicteeIsOldest(t *testing.T) {
	table := newClientTable(4)
	table.register(1, 5, nil, 5, 0)
	table.register(2, 3, nil, 3, 2)
	table.register(3, 3, nil, 3, 1) // same op as client 2, earlier in the batch
	if table.full() {
		t.Fatalf("3 of 4 is full")
	}
	unitMustPanic(t, "not full", func() { table.evictee() })
	table.register(4, 7, nil, 7, 0)
	if !table.full() {
		t.Fatalf("4 of 4 is not full")
	}
	steps := []struct {
		move   ClientID // the client whose next request executes, or 0
		at     Op
		oldest ClientID
	}{
		{0, 0, 3},
		{3, 8, 2}, // client 3 moves past everyone: client 2 is now the oldest
		{2, 8, 1}, // client 2 at op 8 index 1 is after client 3 at op 8 index 0
		{1, 9, 4},
		{4, 9, 3}, // op 8 index 0 is oldest of all
	}
	index := map[ClientID]uint32{3: 0, 2: 1, 1: 0, 4: 1}
	for i, s := range steps {
		if s.move != 0 {
			e := table.get(s.move)
			e.update(e.request+1, nil, s.at, index[s.move])
		}
		if got := table.evictee(); got != s.oldest {
			t.Fatalf("step %d: evictee %d, want %d", i, got, s.oldest)
		}
	}
}

func TestClientTableRemove(t *testing.T) {
	table := newClientTable(2)
	table.register(1, 1, nil, 1, 0)
	table.register(2, 2, nil, 2, 0)
	table.remove(1)
	if table.get(1) != nil || table.full() || table.get(2) == nil {
		t.Fatalf("after removing 1: get(1) %v, full %v", table.get(1), table.full())
	}
	table.register(3, 4, []byte("r"), 4, 0) // takes the freed slot
	if !table.full() || table.get(3).session != 4 || table.evictee() != 2 {
		t.Fatalf("after registering into the freed slot: %+v", table.entries)
	}
	unitMustPanic(t, "removal of client 1", func() { table.remove(1) })
}

func TestClientTablePanicsOnMisuse(t *testing.T) {
	fresh := func() *clientTable {
		table := newClientTable(2)
		table.register(1, 1, nil, 1, 0)
		return table
	}
	full := func() *clientTable {
		table := fresh()
		table.register(2, 2, nil, 2, 0)
		return table
	}
	cases := []struct {
		name, want string
		f          func()
	}{
		{"register into a full table", "full client table", func() { full().register(3, 3, nil, 3, 0) }},
		{"register twice", "registered twice", func() { fresh().register(1, 5, nil, 5, 0) }},
		{"remove unknown", "not in the table", func() { fresh().remove(9) }},
		{"evictee of a table with room", "not full", func() { fresh().evictee() }},
		{"update skips a number", "request 2 at op 3", func() { fresh().get(1).update(2, nil, 3, 0) }},
		{"update repeats a number", "request 0 at op 3", func() { fresh().get(1).update(0, nil, 3, 0) }},
		{"update goes back in the log", "request 1 at op 0", func() {
			table := fresh()
			table.get(1).update(1, nil, 0, 0)
		}},
		{"slot holds another client", "indexed for 1", func() {
			table := fresh()
			table.entries[table.byClient[1]].client = 99
			table.get(1)
		}},
		{"slot freed behind the index", "indexed for 1", func() {
			table := fresh()
			table.entries[table.byClient[1]].session = 0
			table.get(1)
		}},
		{"free slot in a full table", "free slot in a full", func() {
			table := full()
			table.entries[0].session = 0
			table.evictee()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { unitMustPanic(t, c.want, c.f) })
	}
}

// The two client-table bugs of "Viewstamped Replication Revisited" that clienttable.go
// describes, shown on a real replica: replica 1 of 3, a backup, fed prepares and commits by
// hand. A backup executes exactly what the primary does, and its client table is the one
// that would serve replies if it became primary.

const ctCluster uint64 = 0xc11e_47ab_1e00_0001

type ctBus struct {
	toReplica, toClient [][]byte
}

func (b *ctBus) SendToReplica(_ ReplicaIndex, m []byte) {
	b.toReplica = append(b.toReplica, bytes.Clone(m))
}
func (b *ctBus) SendToClient(_ ClientID, m []byte) { b.toClient = append(b.toClient, bytes.Clone(m)) }

type ctClock struct{}

func (ctClock) Monotonic() int64 { return 0 }
func (ctClock) Realtime() int64  { return 1_700_000_000_000_000_000 }

// ctReplica is one replica of a cluster of three, and the log it has been fed.
type ctReplica struct {
	t       *testing.T
	r       *Replica
	bus     *ctBus
	enc     *Encoder
	heads   []PrepareHeader // by op: the chain fed to the replica
	commit  Op              // the last op a commit message named
	storage *memStorage     // its writes complete after every message
}

func ctNewReplica(t *testing.T, index ReplicaIndex, clientTableMax int) *ctReplica {
	config := DefaultConfig(ctCluster, 3)
	config.ClientTableMax = clientTableMax
	bus := &ctBus{}
	storage := newMemStorage()
	r := NewReplica(config, index, NewKV(), bus, ctClock{}, entropy.FromSeed(1).Stream("ct"), storage, false)
	storage.step(r)
	root, _ := RootPrepare(ctCluster)
	return &ctReplica{t: t, r: r, bus: bus, enc: NewEncoder(ctCluster), heads: []PrepareHeader{root},
		storage: storage}
}

// receive hands a message to the replica, which must decode it.
func (c *ctReplica) receive(message []byte) {
	c.t.Helper()
	invalid := c.r.Stats().Invalid
	c.r.Receive(message)
	c.storage.step(c.r)
	if c.r.Stats().Invalid != invalid {
		c.t.Fatalf("replica %d rejected a message the test built", c.r.Index())
	}
}

// prepare feeds the prepare of the next op, in a view, from that view's primary.
func (c *ctReplica) prepare(view View, requests ...Request) {
	c.t.Helper()
	var batch []byte
	for i := range requests {
		batch = appendBatchEntry(batch, &requests[i])
	}
	op := Op(len(c.heads))
	h := PrepareHeader{Parent: c.heads[op-1].Checksum, Replica: ReplicaIndex(uint64(view) % 3),
		View: view, Op: op, Commit: c.commit, Timestamp: uint64(op), Requests: uint32(len(requests))}
	c.receive(c.enc.Prepare(&h, batch))
	c.heads = append(c.heads, h)
}

// commitTo tells the replica, as the view's primary, that everything up to op committed.
func (c *ctReplica) commitTo(view View, op Op) {
	c.t.Helper()
	c.receive(c.enc.Commit(&Commit{Replica: ReplicaIndex(uint64(view) % 3), View: view, Commit: op,
		CommitChecksum: c.heads[op].Checksum}))
	c.commit = op
	if c.r.CommitMin() != op {
		c.t.Fatalf("replica executed up to op %d, want %d", c.r.CommitMin(), op)
	}
}

// run prepares one request in view 0 and commits it.
func (c *ctReplica) run(m Request) {
	c.t.Helper()
	c.prepare(0, m)
	c.commitTo(0, Op(len(c.heads)-1))
}

func (c *ctReplica) value(key string) string { return c.r.sm.(*KV).Get(key) }

func ctPut(client ClientID, session Session, request RequestNumber, key, value string) Request {
	return Request{Client: client, Session: session, Request: request, Operation: OperationApply,
		Body: EncodeKV(nil, KVInput{Op: KVPut, Key: key, Value: value})}
}

func ctRegister(client ClientID) Request {
	return Request{Client: client, Operation: OperationRegister}
}

// ctReply decodes a reply the client table keeps.
func ctReply(t *testing.T, message []byte) Reply {
	t.Helper()
	d := NewDecoder(ctCluster, 3)
	if command, err := d.Decode(message); err != nil || command != CommandReply {
		t.Fatalf("the client table keeps a %v that does not decode: %v", command, err)
	}
	return d.Reply
}

// TestClientTableBugSuccessiveCrashes is the paper's correctness bug (clienttable.go, 1):
// with a table keyed by client and request number alone, a client whose numbering restarts
// after it lost its session can have a new request collide with an old one that is still in
// the network, and get the old one's reply. Here sessions are the ops of their registers:
// the old session's late request is cut off, and the new session's numbers are its own.
func TestClientTableBugSuccessiveCrashes(t *testing.T) {
	const a, b = ClientID(0xa), ClientID(0xb)
	c := ctNewReplica(t, 1, 1)         // a table of one: every register evicts
	c.run(ctRegister(a))               // op 1: session 1
	c.run(ctPut(a, 1, 1, "k", "a1"))   // op 2
	c.run(ctRegister(b))               // op 3: evicts a
	c.run(ctRegister(a))               // op 4: a's new session 4 evicts b; its numbers restart
	c.run(ctPut(a, 4, 1, "k", "new1")) // op 5: request 1 again, with another payload
	if c.value("k") != "new1" {
		t.Fatalf("the new session's request 1 did not execute: k = %q", c.value("k"))
	}
	c.run(ctPut(a, 1, 2, "k", "old2")) // op 6: the old session's request 2, arriving late
	if c.value("k") != "new1" || c.r.clients.get(a).request != 1 {
		t.Fatalf("a request of the dead session 1 executed in session 4: k = %q", c.value("k"))
	}
	c.run(ctPut(a, 4, 2, "k", "new2")) // op 7: the new session's request 2
	entry := c.r.clients.get(a)
	reply := ctReply(t, c.r.cachedReply(a, entry))
	if c.value("k") != "new2" || reply.Session != 4 || reply.Request != 2 || reply.Op != 7 {
		t.Fatalf("request 2 of session 4: k = %q, kept reply %+v", c.value("k"), reply)
	}
	if executed := c.r.Stats().RequestsExecuted; executed != 3 {
		t.Fatalf("%d requests executed, want 3 (ops 2, 5, 7)", executed)
	}
}

// TestClientTableBugViewChangeLockout is the paper's liveness bug (clienttable.go, 2): were
// the table updated when a prepare arrives, a request whose prepare a view change then
// discards would leave the client's number advanced with no reply to give, and every retry
// would be dropped as a duplicate. Here the table moves only when an op executes.
func TestClientTableBugViewChangeLockout(t *testing.T) {
	const a = ClientID(0xa)
	c := ctNewReplica(t, 1, 4)
	c.run(ctRegister(a))                         // op 1
	c.prepare(0, ctPut(a, 1, 1, "x", "dropped")) // op 2, never committed
	if got := c.r.clients.get(a).request; got != 0 || c.value("x") != "" {
		t.Fatalf("a prepare that has not committed moved the table to request %d", got)
	}
	// The primary of view 2 starts it with a log that ends at op 1: op 2 is discarded.
	c.heads = c.heads[:2]
	c.receive(c.enc.StartView(&StartView{Replica: 2, View: 2, Op: 1, Commit: 1, Headers: c.heads[1:2]}))
	if c.r.View() != 2 || c.r.Op() != 1 || c.r.Status() != StatusNormal {
		t.Fatalf("after start_view: view %d op %d %v", c.r.View(), c.r.Op(), c.r.Status())
	}
	// The client retries request 1; the new primary prepares it and it commits.
	c.prepare(2, ctPut(a, 1, 1, "x", "retried"))
	c.commitTo(2, 2)
	entry := c.r.clients.get(a)
	if c.value("x") != "retried" || entry.request != 1 || ctReply(t, c.r.cachedReply(a, entry)).View != 2 {
		t.Fatalf("the retry after the view change: x = %q, table at request %d", c.value("x"), entry.request)
	}
}

// TestClientTableMovesOnExecuteAtPrimary: the primary, too, leaves the table alone when a
// request arrives and when it prepares it; only the commit moves it, and only then replies.
func TestClientTableMovesOnExecuteAtPrimary(t *testing.T) {
	const a = ClientID(0xa)
	c := ctNewReplica(t, 0, 4)
	ack := func(op Op) {
		c.receive(c.enc.PrepareOk(&PrepareOk{Replica: 1, View: 0, Op: op,
			Prepare: c.r.journal.header(op).Checksum}))
	}
	register := ctRegister(a)
	c.receive(c.enc.Request(&register))
	if c.r.Op() != 1 || c.r.clients.get(a) != nil || len(c.bus.toClient) != 0 {
		t.Fatalf("a register prepared at op %d already changed the table or replied", c.r.Op())
	}
	ack(1)
	if c.r.clients.get(a) == nil || len(c.bus.toClient) != 1 {
		t.Fatalf("the committed register: table entry %v, %d replies", c.r.clients.get(a), len(c.bus.toClient))
	}
	put := ctPut(a, 1, 1, "x", "v")
	c.receive(c.enc.Request(&put))
	c.receive(c.enc.Request(&put)) // a retry while it is in flight: dropped, not prepared again
	if c.r.Op() != 2 || c.r.clients.get(a).request != 0 || len(c.bus.toClient) != 1 {
		t.Fatalf("request 1 prepared at op %d: table at request %d, %d replies",
			c.r.Op(), c.r.clients.get(a).request, len(c.bus.toClient))
	}
	ack(2)
	reply := ctReply(t, c.bus.toClient[1])
	if c.r.clients.get(a).request != 1 || reply.Request != 1 || reply.Op != 2 ||
		!bytes.Equal(c.r.cachedReply(a, c.r.clients.get(a)), c.bus.toClient[1]) {
		t.Fatalf("after the commit: table at request %d, reply %+v", c.r.clients.get(a).request, reply)
	}
	c.receive(c.enc.Request(&put)) // a retry after it ran: the same reply, from the table
	if len(c.bus.toClient) != 3 || !bytes.Equal(c.bus.toClient[2], c.bus.toClient[1]) || c.r.Op() != 2 {
		t.Fatalf("a retry of an executed request was not answered from the table")
	}
}
