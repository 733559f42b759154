package core

import "fmt"

// primaryState is what only the primary of the current view keeps.
//
//	Invariant (normal primary): pipeline holds exactly the ops (commitMax, op], each held
//	on the trusted chain with the primary's own ack; requests queue only while the pipeline
//	is full and everything committed is executed.
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
		assert(len(body) == 0) // a spare buffer is handed back empty, never with old bytes
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
	// A view is entered with its log in place: the head is known, nothing executed is lost.
	assert(r.journal.known(r.journal.op) && r.commitMin <= r.journal.op)
	assert(!r.headUncertain) // a log installed over an uncertain head clears it first
	if r.logView != v || r.headInstalledChecksum.IsZero() {
		// A log view installed: its head is the one a restart trusts (root.go). Normal again
		// in the log view it had (a backup's restart), nothing is installed.
		r.headInstalled, r.headInstalledChecksum = r.journal.op, r.journal.header(r.journal.op).Checksum
		r.headInstalledWindow = append(r.headInstalledWindow[:0], r.window()...)
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
	assert(r.timer(timeoutRepair).running && r.timer(timeoutPing).running)
}

// primaryInvariants asserts, in O(1), what holds of a normal primary between events.
func (r *Replica) primaryInvariants() {
	p, j := &r.primary, r.journal
	assert(r.status == StatusNormal && r.isPrimary() && p.inflight != nil)
	assert(r.timer(timeoutHeartbeat).running && r.timer(timeoutPrepareRetry).running)
	assert(!r.timer(timeoutPrimary).running)
	// The pipeline is the ops above the commit, oldest first; the primary trusts its log from
	// the commit up (a commit message names the header there).
	assert(r.commitMax <= j.op && j.op-r.commitMax == Op(len(p.pipeline)))
	assert(len(p.pipeline) <= r.config.PipelineMax && j.chainFrom <= r.commitMax)
	if n := len(p.pipeline); n > 0 {
		assert(p.pipeline[0].op == r.commitMax+1 && p.pipeline[n-1].op == j.op)
		// The primary counts itself exactly when its copy is durable (durability.go).
		assert(p.pipeline[n-1].acks.has(r.index) == r.ackable(j.op))
		assert(p.pipeline[n-1].checksum == j.header(j.op).Checksum)
	}
	// Requests wait only for room in the pipeline or for the root that says the primary is
	// normal in its view, and only at a primary that has executed everything committed (the
	// client table answers their retries).
	assert(len(p.queue) <= r.config.RequestQueueMax)
	assert(len(p.queue) == 0 || len(p.pipeline) == r.config.PipelineMax || !r.rootNormal())
	assert(len(p.queue) == 0 || r.commitMin == r.commitMax)
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
	assert(len(r.heard) == r.config.Replicas)
	heard := 1
	for i, at := range r.heard {
		assert(at <= r.ticks) // a tick in the future would wrap the age below to near 2^64
		if ReplicaIndex(i) != r.index && r.ticks-at <= r.config.AbdicateTicks {
			heard++
		}
	}
	return heard >= r.config.QuorumReplication()
}

func (r *Replica) sendCommit() {
	// Only the normal primary says what is committed, and only what it holds on its chain:
	// a backup checks the checksum against its own trusted header there.
	assert(r.status == StatusNormal && r.isPrimary())
	assert(r.commitMax <= r.journal.op && r.journal.trusted(r.commitMax))
	m := Commit{Replica: r.index, View: r.view, Commit: r.commitMax,
		CommitChecksum: r.journal.header(r.commitMax).Checksum}
	r.sendToOthers(r.enc.Commit(&m))
}

// onRequest takes a client's request: answered from the client table when it already ran,
// dropped when it is stale or already in flight, otherwise queued for a prepare.
func (r *Replica) onRequest(m *Request) {
	if r.status != StatusNormal || !r.isPrimary() || r.commitMin < r.commitMax || r.stateMissing {
		r.drop() // clients find the primary by retrying; a lagging primary catches up first
		return
	}
	// The decoder's checks, on this side: a client, and a register or an apply that names its
	// session and request.
	assert(m.Client != 0 && r.primary.inflight != nil)
	assert(m.Operation == OperationApply || (m.Operation == OperationRegister && m.Session == 0))
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
	// What reaches the queue is new: a register of an unknown client, or a session's next
	// request (answered() decided the rest).
	assert((entry == nil) == (m.Operation == OperationRegister))
	assert(entry == nil || duplicates || m.Request == entry.request+1)
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
	assert(entry.client == m.Client && entry.session != 0)
	// An apply reaches here only in its own session: another is evicted before.
	assert(m.Operation == OperationRegister || entry.session == m.Session)
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
	assert(r.status == StatusNormal && r.isPrimary()) // backups execute, only the primary tells
	assert(client != 0)
	m := Eviction{Replica: r.index, View: r.view, Client: client, Session: session}
	r.bus.SendToClient(client, r.enc.Eviction(&m))
}

// prepareQueued turns queued requests into prepares while the pipeline has room, batching
// as many as fit into each.
func (r *Replica) prepareQueued() {
	p := &r.primary
	assert(r.status == StatusNormal && r.isPrimary())
	assert(len(p.queue) == 0 || r.commitMin == r.commitMax)
	if !r.rootNormal() {
		// Nothing is prepared before the disk says this replica is normal in the view: one
		// that crashed before it would restart fresh (Promised) in view 0, forget what it
		// sent, and prepare another op at the same number in the same view (seed 1397,
		// whole-cluster crashes on: backups had acknowledged, and committed, the first).
		// The root's completion prepares what waits (durabilityChanged).
		return
	}
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
		assert(count <= r.config.BatchMax && len(p.batch) <= r.config.MessageSizeMax-HeaderSize)
		for i := 0; i < count; i++ {
			p.spare = append(p.spare, p.queue[i].Body[:0]) // batched: the buffer serves again
		}
		p.queue = append(p.queue[:0], p.queue[count:]...)
		r.prepare(p.batch, uint32(count))
	}
	// No request is left waiting while the pipeline has room.
	assert(len(p.queue) == 0 || len(p.pipeline) == r.config.PipelineMax || !r.rootNormal())
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
	assert(r.status == StatusNormal && r.isPrimary() && count > 0)
	// A new op goes on top of an executed state and a pipeline that is the rest of the log.
	assert(r.commitMin == r.commitMax && r.journal.op-r.commitMax == Op(len(p.pipeline)))
	p.timestampLast = max(p.timestampLast+1, uint64(r.clock.Realtime()))
	h := PrepareHeader{Replica: r.index, View: r.view, Op: r.journal.op + 1, Commit: r.commitMax,
		Parent: r.journal.header(r.journal.op).Checksum, Timestamp: p.timestampLast, Requests: count}
	message := r.enc.Prepare(&h, batch)
	// The backups' decoder requires the commit below the op; the checksum the pipeline counts
	// acks for is the one the bytes sent carry.
	assert(h.Commit < h.Op && getChecksum(message) == h.Checksum)
	r.journal.appendHead(&h, message)
	p.pipeline = append(p.pipeline, pipelineEntry{op: h.Op, checksum: h.Checksum, acks: r.ownAck(h.Op)})
	assert(r.journal.held(h.Op, h.Checksum) && len(p.pipeline) <= r.config.PipelineMax)
	r.sendToOthers(message)
}

// retryPrepares resends each prepare in the pipeline to the backups that have not yet
// acknowledged it.
func (r *Replica) retryPrepares() {
	assert(r.status == StatusNormal && r.isPrimary())
	for n, entry := range r.primary.pipeline {
		message := r.journal.message(entry.op)
		if message == nil {
			panic(fmt.Sprintf("core: primary does not hold op %d of its pipeline", entry.op))
		}
		// The prepare resent is the one the acks are counted for, on the trusted chain.
		assert(entry.op == r.commitMax+1+Op(n) && r.journal.trusted(entry.op))
		assert(getChecksum(message) == entry.checksum)
		assert(entry.acks.has(r.index) == r.ackable(entry.op))
		for i := 0; i < r.config.Replicas; i++ {
			if ReplicaIndex(i) != r.index && !entry.acks.has(ReplicaIndex(i)) {
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
	assert(int(m.Replica) < r.config.Replicas && m.Op > 0)
	assert(r.journal.op-r.commitMax == Op(len(r.primary.pipeline)))
	entry := &r.primary.pipeline[m.Op-r.commitMax-1]
	if entry.op != m.Op {
		panic(fmt.Sprintf("core: pipeline slot for op %d holds op %d", m.Op, entry.op))
	}
	if entry.checksum != m.Prepare {
		r.drop() // an ack for another prepare at this op, from an older view
		return
	}
	// What is counted: a backup's ack, in this view, of the prepare this primary holds at op,
	// alongside the primary's own.
	assert(entry.acks.has(r.index) == r.ackable(m.Op) && r.journal.held(m.Op, m.Prepare))
	entry.acks = entry.acks.with(m.Replica)
	assert(entry.acks.count() <= r.config.Replicas && entry.acks>>r.config.Replicas == 0)
	r.commitPipeline()
}

// commitPipeline commits, in order, every op at the head of the pipeline that a
// replication quorum holds, then executes what is committed.
func (r *Replica) commitPipeline() {
	p := &r.primary
	assert(r.status == StatusNormal && r.isPrimary())
	assert(r.journal.op-r.commitMax == Op(len(p.pipeline)))
	committed := false
	quorum := r.config.QuorumReplication()
	if r.bug(BugCommitWithoutQuorum) {
		quorum = max(quorum-1, 1)
	}
	for len(p.pipeline) > 0 && p.pipeline[0].acks.count() >= quorum {
		entry := p.pipeline[0]
		// The primary's own ack counts only once durable: a quorum of backups may commit
		// without it, and it holds the prepare all the same.
		if entry.op != r.commitMax+1 || entry.acks.has(r.index) != r.ackable(entry.op) {
			panic(fmt.Sprintf("core: committing op %d after %d, acks %b", entry.op, r.commitMax, entry.acks))
		}
		if !r.journal.held(entry.op, entry.checksum) || !r.journal.trusted(entry.op) {
			panic(fmt.Sprintf("core: committing op %d %v, not held on the chain", entry.op,
				entry.checksum))
		}
		r.commitMax = entry.op
		p.pipeline = append(p.pipeline[:0], p.pipeline[1:]...)
		committed = true
	}
	assert(r.journal.op-r.commitMax == Op(len(p.pipeline)))
	if committed {
		r.executeCommitted()
		r.prepareQueued()
	}
}
