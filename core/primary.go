package core

import "fmt"

// primaryState is what only the primary of the current view keeps.
type primaryState struct {
	pipeline      []pipelineEntry              // the ops (commitMax, op], oldest first
	queue         []Request                    // requests waiting for room in the pipeline; bodies owned
	inflight      map[ClientID]inflightRequest // the latest request of each client queued or prepared
	timestampLast uint64
	batch         []byte   // scratch for building a prepare's body
	spare         [][]byte // body buffers of batched requests, for the next ones queued
}

// spareBody returns an empty buffer for a queued request's body.
func (p *primaryState) spareBody() []byte {
	if last := len(p.spare) - 1; last >= 0 {
		body := p.spare[last]
		p.spare = p.spare[:last]
		return body
	}
	return nil
}

// inflightRequest names a request by its session and number: a register (session 0,
// request 0) after an eviction is a different request from the one the eviction cut off.
type inflightRequest struct {
	session Session
	request RequestNumber
}

// pipelineEntry is a prepare waiting for a replication quorum.
type pipelineEntry struct {
	op       Op
	checksum Checksum
	acks     replicaSet
}

// becomeNormal enters normal status in view v (as primary or backup): the one place, with
// becomeViewChange and becomeRecovering, that changes the status.
func (r *Replica) becomeNormal(v View) {
	if v < r.view || (v == r.view && r.status == StatusNormal && v != 0) {
		panic(fmt.Sprintf("core: replica %d normal in view %d from %v view %d", r.index, v, r.status, r.view))
	}
	r.status, r.view, r.logView = StatusNormal, v, v
	r.viewChange = viewChangeState{}
	r.acked = [HeadersMax]PrepareOk{}
	r.waiting.clear()
	for i := range r.heard {
		r.heard[i] = r.ticks
	}
	r.primary.pipeline, r.primary.queue = r.primary.pipeline[:0], r.primary.queue[:0]
	r.primary.inflight = nil
	r.timer(timeoutViewChange).stop()
	r.timer(timeoutViewChangeSend).stop()
	r.timer(timeoutRecovery).stop()
	if r.isPrimary() {
		r.timer(timeoutPrimary).stop()
		r.timer(timeoutHeartbeat).start()
		r.timer(timeoutPrepareRetry).start()
		r.primary.inflight = make(map[ClientID]inflightRequest)
	} else {
		r.timer(timeoutHeartbeat).stop()
		r.timer(timeoutPrepareRetry).stop()
		r.timer(timeoutPrimary).start()
	}
}

func (r *Replica) primaryTimeouts() {
	if t := r.timer(timeoutHeartbeat); t.fired() {
		if r.hearsQuorum() {
			r.sendCommit()
		}
		t.reset()
	}
	if t := r.timer(timeoutPrepareRetry); t.fired() {
		r.retryPrepares()
		t.reset()
	}
}

// hearsQuorum reports whether a replication quorum (itself included) spoke recently. A
// primary that does not hear one stops its heartbeats: the backups that can hear it then
// time out and elect a primary that can be heard by a quorum, instead of waiting forever on
// a primary cut off one way.
func (r *Replica) hearsQuorum() bool {
	heard := 1
	for i, at := range r.heard {
		if ReplicaIndex(i) != r.index && r.ticks-at <= r.config.AbdicateTicks {
			heard++
		}
	}
	return heard >= r.config.QuorumReplication()
}

func (r *Replica) sendCommit() {
	m := Commit{Replica: r.index, View: r.view, Commit: r.commitMax,
		CommitChecksum: r.journal.header(r.commitMax).Checksum}
	r.sendToOthers(r.enc.Commit(&m))
}

// onRequest takes a client's request: answered from the client table when it already ran,
// dropped when it is stale or already in flight, otherwise queued for a prepare.
func (r *Replica) onRequest(m *Request) {
	if r.status != StatusNormal || !r.isPrimary() || r.commitMin < r.commitMax {
		r.drop() // clients find the primary by retrying; a lagging primary catches up first
		return
	}
	entry := r.clients.get(m.Client)
	if m.Operation == OperationApply && (entry == nil || entry.session != m.Session) {
		r.sendEviction(m.Client, m.Session) // evicted, or a session from before a restart
		return
	}
	duplicates := r.bug(BugDuplicateRequests) && m.Operation == OperationApply
	if entry != nil && !duplicates && r.answered(m, entry) {
		return
	}
	if last, ok := r.primary.inflight[m.Client]; ok && !duplicates && last.session == m.Session && last.request >= m.Request {
		r.drop() // already queued or prepared: its reply comes when it commits
		return
	}
	if len(r.primary.queue) >= r.config.RequestQueueMax || batchSize(m) > r.config.MessageSizeMax-HeaderSize {
		r.drop() // the queue is full, or the request could never fit in a prepare
		return
	}
	queued := *m
	queued.Body = append(r.primary.spareBody(), m.Body...)
	r.primary.queue = append(r.primary.queue, queued)
	r.primary.inflight[m.Client] = inflightRequest{session: m.Session, request: m.Request}
	r.prepareQueued()
}

// answered handles a request of a client the table knows, when the table decides its fate:
// a request that already ran gets its reply again, a stale one is dropped. It reports
// whether the request was handled.
func (r *Replica) answered(m *Request, entry *clientEntry) bool {
	switch {
	case m.Operation == OperationRegister:
		if entry.request == 0 {
			r.bus.SendToClient(m.Client, r.cachedReply(m.Client, entry)) // a retried register
		} else {
			r.drop()
		}
		return true
	case m.Request < entry.request:
		r.drop()
		return true
	case m.Request == entry.request:
		r.bus.SendToClient(m.Client, r.cachedReply(m.Client, entry)) // it ran: the same reply again
		return true
	case m.Request > entry.request+1:
		r.drop() // a client has one request in flight; this one skips a number
		return true
	}
	return false
}

func (r *Replica) sendEviction(client ClientID, session Session) {
	m := Eviction{Replica: r.index, View: r.view, Client: client, Session: session}
	r.bus.SendToClient(client, r.enc.Eviction(&m))
}

// prepareQueued turns queued requests into prepares while the pipeline has room, batching
// as many as fit into each.
func (r *Replica) prepareQueued() {
	p := &r.primary
	for len(p.queue) > 0 && len(p.pipeline) < r.config.PipelineMax {
		p.batch = p.batch[:0]
		count := 0
		room := r.config.MessageSizeMax - HeaderSize
		for count < len(p.queue) && count < r.config.BatchMax && batchSize(&p.queue[count]) <= room {
			room -= batchSize(&p.queue[count])
			p.batch = appendBatchEntry(p.batch, &p.queue[count])
			count++
		}
		if count == 0 {
			panic("core: a queued request does not fit in a prepare")
		}
		for i := 0; i < count; i++ {
			p.spare = append(p.spare, p.queue[i].Body[:0]) // batched: the buffer serves again
		}
		p.queue = append(p.queue[:0], p.queue[count:]...)
		r.prepare(p.batch, uint32(count))
	}
	if r.config.QuorumReplication() == 1 && len(p.pipeline) > 0 {
		r.commitPipeline() // a cluster of one commits what it prepares
	}
}

// prepare appends a new op to the log and sends it to the backups.
func (r *Replica) prepare(batch []byte, count uint32) {
	if r.journal.op-r.commitMax >= Op(r.config.PipelineMax) {
		panic("core: prepare beyond the pipeline")
	}
	p := &r.primary
	p.timestampLast = max(p.timestampLast+1, uint64(r.clock.Realtime()))
	h := PrepareHeader{Replica: r.index, View: r.view, Op: r.journal.op + 1, Commit: r.commitMax,
		Parent: r.journal.header(r.journal.op).Checksum, Timestamp: p.timestampLast, Requests: count}
	message := r.enc.Prepare(&h, batch)
	r.journal.appendHead(&h, message)
	p.pipeline = append(p.pipeline, pipelineEntry{op: h.Op, checksum: h.Checksum, acks: replicaSet(0).with(r.index)})
	r.sendToOthers(message)
}

// retryPrepares resends each prepare in the pipeline to the backups that have not yet
// acknowledged it.
func (r *Replica) retryPrepares() {
	for _, entry := range r.primary.pipeline {
		message := r.journal.message(entry.op)
		if message == nil {
			panic(fmt.Sprintf("core: primary does not hold op %d of its pipeline", entry.op))
		}
		for i := 0; i < r.config.Replicas; i++ {
			if !entry.acks.has(ReplicaIndex(i)) {
				r.bus.SendToReplica(ReplicaIndex(i), message)
			}
		}
	}
}

func (r *Replica) onPrepareOk(m *PrepareOk) {
	if r.status != StatusNormal || !r.isPrimary() || m.View != r.view || m.Replica == r.index {
		r.drop()
		return
	}
	r.heardFrom(m.Replica)
	if m.Op <= r.commitMax || m.Op > r.journal.op {
		r.drop() // already committed, or from a log this view truncated
		return
	}
	entry := &r.primary.pipeline[m.Op-r.commitMax-1]
	if entry.op != m.Op {
		panic(fmt.Sprintf("core: pipeline slot for op %d holds op %d", m.Op, entry.op))
	}
	if entry.checksum != m.Prepare {
		r.drop() // an ack for another prepare at this op, from an older view
		return
	}
	entry.acks = entry.acks.with(m.Replica)
	r.commitPipeline()
}

// commitPipeline commits, in order, every op at the head of the pipeline that a
// replication quorum holds, then executes what is committed.
func (r *Replica) commitPipeline() {
	p := &r.primary
	committed := false
	quorum := r.config.QuorumReplication()
	if r.bug(BugCommitWithoutQuorum) {
		quorum = max(quorum-1, 1)
	}
	for len(p.pipeline) > 0 && p.pipeline[0].acks.count() >= quorum {
		entry := p.pipeline[0]
		if entry.op != r.commitMax+1 || !entry.acks.has(r.index) {
			panic(fmt.Sprintf("core: committing op %d after %d, acks %b", entry.op, r.commitMax, entry.acks))
		}
		r.commitMax = entry.op
		p.pipeline = append(p.pipeline[:0], p.pipeline[1:]...)
		committed = true
	}
	if committed {
		r.executeCommitted()
		r.prepareQueued()
	}
}
