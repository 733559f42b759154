package core

import "fmt"

// executeCommitted executes, in order, every committed op the replica holds on its trusted
// chain. Ops wait, unexecuted, for repair to bring what is missing.
func (r *Replica) executeCommitted() {
	// Only a replica normal in its view executes: a view change may still replace the log
	// above what is executed, and the client table answers only for a settled state.
	assert(r.status == StatusNormal && r.logView == r.view)
	assert(r.commitMin <= r.commitMax)
	if r.stateMissing {
		return // nothing to execute on until a state transfer installs a checkpoint
	}
	for r.commitMin < r.commitMax {
		op := r.commitMin + 1
		if !r.journal.trusted(op) || r.journal.message(op) == nil || r.journal.chainFrom > op {
			return
		}
		r.execute(op)
	}
}

// execute applies one op: every request of its batch runs through the client table and,
// when it is a session's next request, through the state machine. Every replica does the
// same, so the client table and the state stay identical; only the primary replies.
func (r *Replica) execute(op Op) {
	// Ops execute one at a time, in order, only once known committed.
	assert(op == r.commitMin+1 && op <= r.commitMax)
	h := r.journal.header(op)
	if h.Parent != r.journal.header(op-1).Checksum {
		panic(fmt.Sprintf("core: replica %d executing op %d whose parent is not op %d", r.index, op, op-1))
	}
	message := r.journal.message(op)
	// The bytes executed are the prepare the chain names: a misfiled message would run
	// another op's requests.
	if len(message) != int(h.Size) || getChecksum(message) != h.Checksum {
		panic(fmt.Sprintf("core: replica %d executing op %d %v from a message of %d bytes, %v",
			r.index, op, h.Checksum, len(message), getChecksum(message)))
	}
	parent := r.journal.header(op - 1)
	assert(h.View >= parent.View && h.Timestamp > parent.Timestamp && h.View <= r.view)
	assert(h.Requests > 0 && h.Commit < op)
	body := message[HeaderSize:]
	it := newBatchIterator(body, h.Requests)
	var m Request
	for index := uint32(0); it.Next(&m); index++ {
		r.settled(&m)
		switch m.Operation {
		case OperationRegister:
			r.executeRegister(&m, h, index)
		case OperationApply:
			r.executeApply(&m, h, index)
		default:
			panic(fmt.Sprintf("core: op %d holds operation %d", op, m.Operation))
		}
	}
	r.commitMin = op
	r.stats.Committed++
	r.checkpointDue(op)
}

func (r *Replica) executeRegister(m *Request, h *PrepareHeader, index uint32) {
	assert(m.Operation == OperationRegister && m.Session == 0 && m.Request == 0)
	if r.clients.get(m.Client) != nil {
		return // a register retried across a view change: the session exists
	}
	if r.clients.full() {
		evicted := r.clients.evictee()
		session := r.clients.get(evicted).session
		// Registered at or before this op (at it, by an earlier register of this batch).
		assert(session != 0 && uint64(session) <= uint64(h.Op))
		r.clients.remove(evicted)
		if r.status == StatusNormal && r.isPrimary() {
			r.sendEviction(evicted, session)
		}
	}
	r.clients.register(m.Client, Session(h.Op), nil, h.Op, index)
	r.replied(m.Client, r.clients.get(m.Client))
}

func (r *Replica) executeApply(m *Request, h *PrepareHeader, index uint32) {
	assert(m.Operation == OperationApply && m.Session != 0 && m.Request != 0)
	entry := r.clients.get(m.Client)
	switch {
	case entry == nil || entry.session != m.Session:
		if r.status == StatusNormal && r.isPrimary() {
			r.sendEviction(m.Client, m.Session) // evicted while this request waited
		}
		return
	case m.Request <= entry.request && !r.bug(BugDuplicateRequests):
		return // it ran already: executing it again would break exactly-once
	case m.Request > entry.request+1:
		return // a gap in a session's numbers: never sent by a correct client
	}
	// A session's requests come after its register committed, and after its last request.
	assert(uint64(entry.session) < uint64(h.Op) && entry.commit <= h.Op)
	r.output = r.sm.Apply(h.Op, h.Timestamp, m.Body, r.output[:0])
	r.stats.RequestsExecuted++
	if m.Request <= entry.request { // only with BugDuplicateRequests
		entry.output = append(entry.output[:0], r.output...)
	} else {
		entry.update(m.Request, r.output, h.Op, index)
	}
	r.replied(m.Client, entry)
}

// cachedReply builds the reply to a session's latest request from the client table.
func (r *Replica) cachedReply(client ClientID, e *clientEntry) []byte {
	// A reply names a committed op (the one executing, or one before) at or after its
	// session's register; the client's decoder requires both nonzero.
	assert(e.client == client && e.session != 0)
	assert(uint64(e.session) <= uint64(e.commit) && e.commit <= r.commitMax)
	operation := OperationApply
	if e.request == 0 {
		operation = OperationRegister
	}
	reply := Reply{Replica: r.index, View: r.view, Op: e.commit, Commit: e.commit, Client: client,
		Session: e.session, Request: e.request, Operation: operation, Body: e.output}
	return r.enc.Reply(&reply)
}

// settled forgets a request was in flight once its op executes, whatever the client table
// made of it: executed, a duplicate, or cut off by an eviction.
func (r *Replica) settled(m *Request) {
	if r.primary.inflight == nil {
		return
	}
	assert(r.status == StatusNormal && r.isPrimary()) // only the primary tracks requests
	if last, ok := r.primary.inflight[m.Client]; ok && last == (inflightRequest{session: m.Session, request: m.Request}) {
		delete(r.primary.inflight, m.Client)
	}
}

// replied sends the reply to a request just executed: the primary does. Backups only keep
// the output, and build a reply if they are ever asked again as primary.
func (r *Replica) replied(client ClientID, e *clientEntry) {
	assert(e != nil && e.client == client)
	if r.status == StatusNormal && r.isPrimary() {
		r.bus.SendToClient(client, r.cachedReply(client, e))
	}
}
