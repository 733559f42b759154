package core

import "fmt"

// executeCommitted executes, in order, every committed op the replica holds on its trusted
// chain. Ops wait, unexecuted, for repair to bring what is missing.
func (r *Replica) executeCommitted() {
	for r.commitMin < r.commitMax {
		op := r.commitMin + 1
		if !r.journal.trusted(op) || r.journal.messages[op] == nil || r.journal.chainFrom > op {
			return
		}
		r.execute(op)
	}
}

// execute applies one op: every request of its batch runs through the client table and,
// when it is a session's next request, through the state machine. Every replica does the
// same, so the client table and the state stay identical; only the primary replies.
func (r *Replica) execute(op Op) {
	h := r.journal.header(op)
	if h.Parent != r.journal.header(op-1).Checksum {
		panic(fmt.Sprintf("core: replica %d executing op %d whose parent is not op %d", r.index, op, op-1))
	}
	body := r.journal.messages[op][HeaderSize:]
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
}

func (r *Replica) executeRegister(m *Request, h *PrepareHeader, index uint32) {
	if r.clients.get(m.Client) != nil {
		return // a register retried across a view change: the session exists
	}
	if r.clients.full() {
		evicted := r.clients.evictee()
		session := r.clients.get(evicted).session
		r.clients.remove(evicted)
		if r.status == StatusNormal && r.isPrimary() {
			r.sendEviction(evicted, session)
		}
	}
	reply := r.encodeReply(m, h, Session(h.Op), nil)
	r.clients.register(m.Client, Session(h.Op), reply, h.Op, index)
	r.replied(m, reply)
}

func (r *Replica) executeApply(m *Request, h *PrepareHeader, index uint32) {
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
	r.output = r.sm.Apply(h.Op, h.Timestamp, m.Body, r.output[:0])
	r.stats.RequestsExecuted++
	reply := r.encodeReply(m, h, entry.session, r.output)
	if m.Request <= entry.request { // only with BugDuplicateRequests
		entry.reply = reply
		r.replied(m, reply)
		return
	}
	entry.update(m.Request, reply, h.Op, index)
	r.replied(m, reply)
}

// encodeReply builds a reply to keep in the client table.
func (r *Replica) encodeReply(m *Request, h *PrepareHeader, session Session, output []byte) []byte {
	reply := Reply{Replica: r.index, View: r.view, Op: h.Op, Commit: h.Op, Client: m.Client,
		Session: session, Request: m.Request, Operation: m.Operation, Body: output}
	return append([]byte(nil), r.enc.Reply(&reply)...)
}

// settled forgets a request was in flight once its op executes, whatever the client table
// made of it: executed, a duplicate, or cut off by an eviction.
func (r *Replica) settled(m *Request) {
	if r.primary.inflight == nil {
		return
	}
	if last, ok := r.primary.inflight[m.Client]; ok && last == (inflightRequest{session: m.Session, request: m.Request}) {
		delete(r.primary.inflight, m.Client)
	}
}

// replied sends the reply: the primary does.
func (r *Replica) replied(m *Request, reply []byte) {
	if r.status == StatusNormal && r.isPrimary() {
		r.bus.SendToClient(m.Client, reply)
	}
}
