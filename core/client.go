package core

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vsrsim/vsrsim/entropy"
)

// Client is a VSR client, sans-IO like the replica: one request in flight, a session
// registered through the log before the first request, retries with backoff, and a
// broadcast to every replica once retrying the presumed primary has not worked.
type Client struct {
	config Config
	id     ClientID
	bus    MessageBus
	rand   *entropy.Rand
	enc    *Encoder
	dec    *Decoder

	session  Session
	request  RequestNumber  // the number of the latest request sent in this session
	view     View           // the highest view a reply has shown
	inflight *clientRequest // nil when nothing is in flight; else &request
	request_ clientRequest  // the request in flight, its buffer reused
	pending  []byte         // the caller's operation, waiting for the session
	hasPend  bool
	timeout  timeout
	attempts int
	opLast   Op     // the op of the latest reply taken: each request commits after the one before
	lost     uint64 // operations cut off by an eviction, their outcome unknown

	registerWait  uint64 // ticks before registering again after an eviction
	evictedInARow uint   // evictions since the last reply

	onReply   func(op Op, output []byte)
	onEvicted func()
	nextID    func() ClientID // the identity to register under after an eviction
	stats     ClientStats
}

// Invariants between calls (asserted by invariants):
//   - inflight is nil or &request_, and the retry timeout runs exactly while it is set;
//   - without a session no request number is used, and what is in flight is the register,
//     sent for an operation pending; with a session nothing is pending;
//   - the request in flight is request number `request`, under the current identity;
//   - registerWait counts down only with no session and nothing in flight.

// EvictedInARowMax is where the doubling of a client's wait before registering again after
// evictions stops: the longest wait is twice ClientRequestTicks << (EvictedInARowMax−1).
const EvictedInARowMax = 8

type clientRequest struct {
	number  RequestNumber
	message []byte // the encoded request, for retries
}

// ClientStats counts what a client did.
type ClientStats struct {
	Requests  uint64 // operations submitted
	Replies   uint64 // replies to them
	Retries   uint64
	Evictions uint64
	Registers uint64
	Invalid   uint64 // messages that failed to decode
	Dropped   uint64 // decoded but not for this client's current request
}

// NewClient returns a client. onReply receives the output of each operation, with the op at
// which it committed; onEvicted is told that the session was lost and the operation in
// flight, if any, has an unknown outcome.
func NewClient(config Config, id ClientID, bus MessageBus, rand *entropy.Rand,
	onReply func(op Op, output []byte), onEvicted func()) *Client {
	if err := config.Validate(); err != nil {
		panic(fmt.Sprintf("core: invalid config: %v", err))
	}
	if id == 0 {
		panic("core: client id 0")
	}
	t := newTimeout("request", config.ClientRequestTicks)
	t.max = config.ClientRequestMax
	c := &Client{config: config, id: id, bus: bus, rand: rand,
		enc: newCheckedEncoder(&config, senderClient), dec: NewDecoder(config.Cluster, config.Replicas),
		timeout: t, onReply: onReply, onEvicted: onEvicted}
	c.invariants()
	return c
}

// invariants asserts what holds between any two calls into the client (see the list at
// the type). O(1): it runs after every call.
func (c *Client) invariants() {
	assert(c.id != 0)
	assert(c.inflight == nil || c.inflight == &c.request_)
	assert((c.inflight != nil) == c.timeout.running)
	assert(c.timeout.after >= c.config.ClientRequestTicks) // no retry sooner than the first
	assert(c.session != 0 || c.request == 0)
	assert(!c.hasPend || c.session == 0)
	assert(c.inflight == nil || c.session != 0 || c.hasPend)
	assert(c.registerWait == 0 || c.session == 0)
	assert(c.registerWait == 0 || c.inflight == nil)
	// A session is the op of the register reply taken, and replies only move forward.
	assert(Op(c.session) <= c.opLast)
	assert(c.evictedInARow <= EvictedInARowMax)
	// One register per session: the first, and one after each eviction.
	assert(c.stats.Evictions <= c.stats.Registers)
	assert(c.stats.Registers <= c.stats.Evictions+1)
	// Every operation submitted ends once, answered or lost, but the one under way.
	busy := uint64(0)
	if c.hasPend || c.inflight != nil {
		busy = 1
	}
	assert(c.stats.Requests == c.stats.Replies+c.lost+busy)
	if c.inflight != nil {
		// The bytes a retry resends are this request's, under this identity: an eviction
		// changes the identity only with nothing in flight.
		message := c.inflight.message
		assert(len(message) >= HeaderSize)
		assert(message[60] == byte(CommandRequest))
		assert(c.inflight.number == c.request)
		assert(binary.LittleEndian.Uint32(message[112:]) == uint32(c.inflight.number))
		assert(ClientID(binary.LittleEndian.Uint64(message[88:])) == c.id)
		assert(View(binary.LittleEndian.Uint64(message[64:])) <= c.view) // the view only grows
	}
}

// ID is the client's identity. It changes after an eviction (see onEviction).
func (c *Client) ID() ClientID {
	assert(c.id != 0)
	return c.id
}

// SetIDSource says where the client gets a new identity after an eviction; by default it
// draws one from its random stream. (A simulator uses it to keep its routing.)
func (c *Client) SetIDSource(next func() ClientID) {
	// Set before the identity ever changes: whoever routes by the source knows them all.
	assert(c.stats.Evictions == 0)
	c.nextID = next
}

// Session is the client's current session, 0 before registration.
func (c *Client) Session() Session {
	// A session is the op of a register this client sent, so it follows one.
	assert(c.session == 0 || c.stats.Registers > 0)
	return c.session
}

// Busy reports whether an operation is pending: the client takes one at a time.
func (c *Client) Busy() bool {
	// An operation waits only for a session, and what is then in flight is the register.
	assert(!c.hasPend || c.inflight == nil || c.inflight.number == 0)
	return c.hasPend || c.inflight != nil
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	// Every operation submitted is answered at most once.
	assert(c.stats.Replies <= c.stats.Requests)
	return c.stats
}

// Submit starts an operation; the client must not be busy. Without a session it registers
// first.
func (c *Client) Submit(body []byte) {
	if c.Busy() {
		panic("core: submit to a busy client")
	}
	// An operation the primary could never fit in a prepare would be retried forever.
	if len(body) > c.config.MessageSizeMax-HeaderSize-batchEntrySize {
		panic(fmt.Sprintf("core: an operation of %d bytes, over the bound of %d", len(body),
			c.config.MessageSizeMax-HeaderSize-batchEntrySize))
	}
	c.stats.Requests++
	c.pending, c.hasPend = append(c.pending[:0], body...), true
	if c.session == 0 {
		if c.inflight == nil && c.registerWait == 0 {
			c.send(Request{Client: c.id, Operation: OperationRegister})
		}
	} else {
		c.sendPending()
	}
	// The operation is under way: pending a session (with the register in flight unless
	// the client waits out an eviction), or in flight.
	assert(c.Busy())
	assert(c.hasPend == (c.session == 0))
	assert(!c.hasPend || c.inflight != nil || c.registerWait > 0)
	c.invariants()
}

func (c *Client) sendPending() {
	assert(c.hasPend)
	assert(c.session != 0)
	assert(c.inflight == nil)
	// Request numbers only grow within a session, and never wrap to the register's 0.
	assert(c.request < math.MaxUint32)
	c.hasPend = false
	c.request++
	c.send(Request{Client: c.id, Session: c.session, Request: c.request, Operation: OperationApply, Body: c.pending})
}

func (c *Client) send(m Request) {
	// One request in flight, under the current identity, never while waiting to register.
	assert(c.inflight == nil)
	assert(m.Client == c.id)
	assert(c.registerWait == 0)
	if m.Operation == OperationRegister {
		assert(c.session == 0)
		assert(m.Session == 0)
		assert(m.Request == 0)
	} else {
		assert(m.Session == c.session)
		assert(m.Request == c.request)
		assert(m.Request != 0)
	}
	m.View = c.view
	if m.Operation == OperationRegister {
		c.stats.Registers++
	}
	c.request_.number = m.Request
	c.request_.message = append(c.request_.message[:0], c.enc.Request(&m)...)
	c.inflight = &c.request_
	c.attempts = 0
	c.timeout.start()
	c.timeout.jitter(c.rand)
	c.bus.SendToReplica(c.config.primaryOf(c.view), c.inflight.message)
}

// Tick retries the request in flight when it has waited too long.
func (c *Client) Tick() {
	if c.registerWait > 0 {
		// Evicted: nothing is in flight, and the timeout does not run, until it registers.
		assert(c.inflight == nil)
		assert(c.session == 0)
		c.registerWait--
		if c.registerWait == 0 && c.hasPend && c.inflight == nil && c.session == 0 {
			c.send(Request{Client: c.id, Operation: OperationRegister})
		}
		c.invariants()
		return
	}
	c.timeout.tick()
	if c.inflight == nil || !c.timeout.fired() {
		c.invariants()
		return
	}
	c.attempts++
	c.stats.Retries++
	if c.attempts >= c.config.ClientBroadcastAfter {
		for i := 0; i < c.config.Replicas; i++ {
			c.bus.SendToReplica(ReplicaIndex(i), c.inflight.message)
		}
	} else {
		c.bus.SendToReplica(c.config.primaryOf(c.view), c.inflight.message)
	}
	c.timeout.backoff(c.rand)
	// The wait before the next retry never outgrows the bound and its quarter of jitter.
	assert(c.timeout.after <= c.config.ClientRequestMax+c.config.ClientRequestMax/4)
	c.invariants()
}

// Receive handles a reply or an eviction.
func (c *Client) Receive(data []byte) {
	command, err := c.dec.Decode(data)
	if err != nil {
		c.stats.Invalid++
		return
	}
	switch command {
	case CommandReply:
		c.onReplyMessage(&c.dec.Reply)
	case CommandEviction:
		c.onEviction(&c.dec.Eviction)
	default:
		c.stats.Dropped++
	}
	c.invariants()
}

func (c *Client) onReplyMessage(m *Reply) {
	if m.Client != c.id || c.inflight == nil || m.Request != c.inflight.number ||
		(m.Operation == OperationRegister) != (c.session == 0) ||
		(c.session != 0 && m.Session != c.session) {
		c.stats.Dropped++
		return
	}
	// Checked again on arrival, what the primary asserts as it sends a reply: only the
	// primary of a view replies, and to a request that has committed.
	assert(m.Replica == c.config.primaryOf(m.View))
	assert(m.Commit >= m.Op)
	// The reply is to the request in flight. It ran at m.Op, after every request this
	// client was answered before (each is sent after the last reply), and a session is the
	// op of its register, so a request of the session ran after it.
	if m.Op <= c.opLast || Session(m.Op) < m.Session ||
		(m.Operation == OperationRegister) != (Session(m.Op) == m.Session) {
		panic(fmt.Sprintf("core: client %d took a reply at op %d of session %d (%d) after op %d",
			c.id, m.Op, m.Session, m.Operation, c.opLast))
	}
	c.opLast = m.Op
	c.view = max(c.view, m.View)
	c.inflight = nil
	c.timeout.stop()
	if m.Operation == OperationRegister {
		assert(m.Request == 0)
		assert(len(m.Body) == 0) // a register has no output
		assert(c.hasPend)        // a register goes out for an operation waiting
		c.session, c.request = m.Session, 0
		c.sendPending()
		return
	}
	assert(m.Request == c.request)
	assert(m.Request != 0)
	c.stats.Replies++
	c.evictedInARow = 0
	c.onReply(m.Op, m.Body)
}

// onEviction ends the session. An operation in flight may or may not have run: the caller
// hears so, and the next Submit registers a new session under a new identity. A new
// identity, not just a new session: replies to the old identity may still be on their way
// (a new primary replaying its log replies again), among them an old register reply, which
// a client registering under the same identity could not tell from its own; it would then
// take the old session's replies for its new requests, the paper's request-number collision.
func (c *Client) onEviction(m *Eviction) {
	if m.Client != c.id || c.session == 0 || m.Session != c.session {
		c.stats.Dropped++
		return
	}
	// Only the primary of a view evicts (checked again on arrival).
	assert(m.Replica == c.config.primaryOf(m.View))
	// With a session, no operation waits for one: what is in flight, if anything, is the
	// session's latest request.
	assert(!c.hasPend)
	c.stats.Evictions++
	c.session, c.request = 0, 0
	// Register again only after a wait that doubles with each eviction in a row, plus as
	// much again at random: clients that outnumber the client table would otherwise evict
	// each other forever, each new session evicting the other's just before its request
	// commits. The floor is not random, so even a schedule whose every random draw is the
	// smallest (a fuzzer's) leaves the other client time to finish a request.
	c.evictedInARow = min(c.evictedInARow+1, EvictedInARowMax)
	floor := c.config.ClientRequestTicks << (c.evictedInARow - 1)
	assert(floor>>(c.evictedInARow-1) == c.config.ClientRequestTicks) // no overflow
	c.registerWait = floor + c.rand.Range(0, floor)
	assert(c.registerWait >= c.config.ClientRequestTicks)
	old := c.id
	if c.nextID != nil {
		c.id = c.nextID()
	} else {
		c.id = ClientID(c.rand.Uint64() | 1)
	}
	// Replies to the old identity must never be taken for the new one's (see above); and
	// no request may be sent under identity 0, which every replica rejects.
	if c.id == old || c.id == 0 {
		panic(fmt.Sprintf("core: client %d evicted takes identity %d", old, c.id))
	}
	inFlight := c.inflight != nil
	c.inflight = nil
	c.timeout.stop()
	if inFlight {
		c.lost++
		c.onEvicted()
	}
}
