package core

import (
	"fmt"

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

	registerWait  uint64 // ticks before registering again after an eviction
	evictedInARow uint   // evictions since the last reply

	onReply   func(op Op, output []byte)
	onEvicted func()
	nextID    func() ClientID // the identity to register under after an eviction
	stats     ClientStats
}

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
	return &Client{config: config, id: id, bus: bus, rand: rand, enc: NewEncoder(config.Cluster),
		dec: NewDecoder(config.Cluster, config.Replicas), timeout: t, onReply: onReply, onEvicted: onEvicted}
}

// ID is the client's identity. It changes after an eviction (see onEviction).
func (c *Client) ID() ClientID { return c.id }

// SetIDSource says where the client gets a new identity after an eviction; by default it
// draws one from its random stream. (A simulator uses it to keep its routing.)
func (c *Client) SetIDSource(next func() ClientID) { c.nextID = next }

// Session is the client's current session, 0 before registration.
func (c *Client) Session() Session { return c.session }

// Busy reports whether an operation is pending: the client takes one at a time.
func (c *Client) Busy() bool { return c.hasPend || c.inflight != nil }

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats { return c.stats }

// Submit starts an operation; the client must not be busy. Without a session it registers
// first.
func (c *Client) Submit(body []byte) {
	if c.Busy() {
		panic("core: submit to a busy client")
	}
	c.stats.Requests++
	c.pending, c.hasPend = append(c.pending[:0], body...), true
	if c.session == 0 {
		if c.inflight == nil && c.registerWait == 0 {
			c.send(Request{Client: c.id, Operation: OperationRegister})
		}
		return
	}
	c.sendPending()
}

func (c *Client) sendPending() {
	c.hasPend = false
	c.request++
	c.send(Request{Client: c.id, Session: c.session, Request: c.request, Operation: OperationApply, Body: c.pending})
}

func (c *Client) send(m Request) {
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
		c.registerWait--
		if c.registerWait == 0 && c.hasPend && c.inflight == nil && c.session == 0 {
			c.send(Request{Client: c.id, Operation: OperationRegister})
		}
		return
	}
	c.timeout.tick()
	if c.inflight == nil || !c.timeout.fired() {
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
}

func (c *Client) onReplyMessage(m *Reply) {
	if m.Client != c.id || c.inflight == nil || m.Request != c.inflight.number ||
		(m.Operation == OperationRegister) != (c.session == 0) ||
		(c.session != 0 && m.Session != c.session) {
		c.stats.Dropped++
		return
	}
	c.view = max(c.view, m.View)
	c.inflight = nil
	c.timeout.stop()
	if m.Operation == OperationRegister {
		c.session, c.request = m.Session, 0
		if c.hasPend {
			c.sendPending()
		}
		return
	}
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
	c.stats.Evictions++
	c.session, c.request = 0, 0
	// Register again only after a wait that doubles with each eviction in a row, plus as
	// much again at random: clients that outnumber the client table would otherwise evict
	// each other forever, each new session evicting the other's just before its request
	// commits. The floor is not random, so even a schedule whose every random draw is the
	// smallest (a fuzzer's) leaves the other client time to finish a request.
	c.evictedInARow = min(c.evictedInARow+1, 6)
	floor := c.config.ClientRequestTicks << (c.evictedInARow - 1)
	c.registerWait = floor + c.rand.Range(0, floor)
	if c.nextID != nil {
		c.id = c.nextID()
	} else {
		c.id = ClientID(c.rand.Uint64() | 1)
	}
	inFlight := c.inflight != nil
	c.inflight = nil
	c.timeout.stop()
	if inFlight {
		c.onEvicted()
	}
}
