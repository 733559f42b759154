package core

// repair asks other replicas for what the log misses, a bounded number of requests per
// round: the committed op a heartbeat named beyond the head, the header the hash chain
// names below its trusted part, and the prepares of trusted ops not held.
func (r *Replica) repair() {
	if r.status == StatusRecovering {
		return
	}
	if r.headUncertain {
		r.repairHead()
		return
	}
	if r.status == StatusViewChange && !r.viewChange.installed {
		return // the log is about to be replaced
	}
	r.syncRepair()
	j := r.journal
	// A view change repairs only at the new primary, once it has installed its log.
	assert(r.status == StatusNormal || r.primaryIndex() == r.index)
	if parent, ok := r.waiting.parentOf(j.op + 1); ok && r.status == StatusNormal {
		// Only a backup keeps prepares waiting.
		assert(!r.isPrimary())
		r.sendRequestPrepare(r.primaryIndex(), j.op+1, parent) // the op a waiting prepare needs
	}
	if r.commitMax > j.op && !r.commitMaxChecksum.IsZero() {
		// Only a backup learns of commits beyond its head: a primary's log holds its commit.
		assert(r.status == StatusNormal && !r.isPrimary())
		r.sendRequestPrepare(r.repairTarget(), r.commitMax, r.commitMaxChecksum)
	}
	if op, _, ok := j.wanted(r.commitMin); ok {
		m := RequestHeaders{Replica: r.index, View: r.view, OpMax: op,
			OpMin: max(r.commitMin+1, op-min(op, HeadersMax-1))}
		m.OpMin = max(m.OpMin, 1)
		// The receiver's decoder requires a range of at most HeadersMax ops, above the root.
		assert(m.OpMin >= 1 && m.OpMin <= m.OpMax && m.OpMax-m.OpMin < HeadersMax)
		r.bus.SendToReplica(r.repairTarget(), r.enc.RequestHeaders(&m))
	}
	budget := r.config.RepairMax
	for op := max(j.chainFrom, r.commitMin+1); op <= j.op && budget > 0; op++ {
		if j.message(op) != nil {
			continue
		}
		checksum := j.header(op).Checksum
		target := r.repairTarget()
		if r.status == StatusViewChange {
			if holder, ok := r.holder(op, checksum); ok {
				target = holder
			}
		}
		r.sendRequestPrepare(target, op, checksum)
		budget--
	}
}

// repairTarget picks whom to ask: a backup asks the primary half the time, since it holds
// everything; otherwise any other replica.
func (r *Replica) repairTarget() ReplicaIndex {
	if r.status == StatusNormal && !r.isPrimary() && r.rand.Bool() {
		return r.primaryIndex()
	}
	return r.randomOther()
}

func (r *Replica) sendRequestPrepare(target ReplicaIndex, op Op, checksum Checksum) {
	if target == r.index {
		return
	}
	// Never asks for an executed op (held for good), nor for an op without its identity: the
	// receiver's decoder rejects op 0 and a zero checksum.
	assert(op > r.commitMin && !checksum.IsZero())
	assert(int(target) < r.config.Replicas)
	m := RequestPrepare{Replica: r.index, View: r.view, Op: op, Checksum: checksum}
	r.bus.SendToReplica(target, r.enc.RequestPrepare(&m))
}

// onRequestPrepare sends a prepare the replica holds with the wanted checksum.
func (r *Replica) onRequestPrepare(m *RequestPrepare) {
	if r.status == StatusRecovering || m.Replica == r.index || !r.journal.servable(m.Op, m.Checksum) {
		r.drop()
		return
	}
	// The bytes sent are the prepare asked for: its header's checksum leads the message.
	message := r.journal.entry(m.Op).message
	assert(len(message) >= HeaderSize && len(message) == int(r.journal.entry(m.Op).header.Size))
	assert(getChecksum(message) == m.Checksum)
	r.bus.SendToReplica(m.Replica, message)
}

// onRequestHeaders sends the headers the replica knows in a range. The receiver trusts
// only those the hash chain names, so any replica may answer.
func (r *Replica) onRequestHeaders(m *RequestHeaders) {
	if r.status == StatusRecovering || m.Replica == r.index {
		r.drop()
		return
	}
	// The decoder's checks, on this side: the range fits the reply's HeadersMax.
	assert(m.OpMin >= 1 && m.OpMin <= m.OpMax && m.OpMax-m.OpMin < HeadersMax)
	var headers [HeadersMax]PrepareHeader
	count := 0
	for op := m.OpMin; op <= m.OpMax && op <= r.journal.op; op++ {
		if h, ok := r.journal.servableHeader(op); ok {
			headers[count] = *h
			count++
		}
	}
	if count == 0 {
		r.drop()
		return
	}
	assert(count <= HeadersMax && headers[0].Op >= m.OpMin && headers[count-1].Op <= m.OpMax)
	reply := Headers{Replica: r.index, View: r.view, Headers: headers[:count]}
	r.bus.SendToReplica(m.Replica, r.enc.Headers(&reply))
}

func (r *Replica) onHeaders(m *Headers) {
	if r.status == StatusRecovering || m.Replica == r.index {
		r.drop()
		return
	}
	assert(len(m.Headers) > 0 && len(m.Headers) <= HeadersMax)
	// An uncertain head is at or above the installed one (restart.go): headers only extend
	// trust below it.
	assert(!r.headUncertain || r.journal.op >= r.headInstalled)
	chainFrom := r.journal.chainFrom
	changed := false
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if r.journal.acceptHeader(&m.Headers[i], r.commitMin) {
			changed = true
		}
	}
	// Otherwise a header is taken only to extend trust down the chain, never to move the head.
	assert(changed == (r.journal.chainFrom < chainFrom))
	if !changed {
		r.drop()
		return
	}
	r.journalChanged()
}

// sendPings pings the other replicas: a primary counts who answers, to know whether a
// quorum hears it.
func (r *Replica) sendPings() {
	if r.status == StatusRecovering {
		return
	}
	m := Ping{Replica: r.index, View: r.view, Monotonic: r.clock.Monotonic()}
	m.Checkpoint, m.Oldest = r.offers()
	if m.Checkpoint > 0 {
		m.CheckpointChecksum = r.checkpoint.served.Header.Checksum
	}
	r.sendToOthers(r.enc.Ping(&m))
}

func (r *Replica) onPing(m *Ping) {
	if r.status == StatusRecovering || m.Replica == r.index {
		r.drop()
		return
	}
	if m.View == r.view {
		r.heardFrom(m.Replica)
	}
	r.notePeer(m)
	if m.Checkpoint > 0 && m.View <= r.view {
		// A peer of a later view may have executed ops of that view this log never had:
		// this replica is deposed, and learns it otherwise (seed 86, whole-cluster crashes on).
		r.commitLearned(m.Checkpoint, m.CheckpointChecksum)
	}
	pong := Pong{Replica: r.index, View: r.view, PingMonotonic: m.Monotonic, Realtime: r.clock.Realtime()}
	r.bus.SendToReplica(m.Replica, r.enc.Pong(&pong))
}

// onPong notes who hears this replica. A pong from a higher view is a replica that hears
// us but can never come back down to our view (it may have sent a do_view_change for its
// own). A primary then moves up to meet it, and a replica changing views follows: otherwise
// a replica that once changed views alone would stay out of the cluster for good. A replica
// cut off in one direction never answers a ping, so it cannot depose a primary this way.
func (r *Replica) onPong(m *Pong) {
	switch {
	case r.status == StatusRecovering || m.Replica == r.index || m.View < r.view:
		r.drop()
	case m.View == r.view:
		r.heardFrom(m.Replica)
	case r.status == StatusViewChange || r.isPrimary():
		assert(m.View > r.view)
		r.startViewChange(m.View)
	default:
		r.drop() // a backup leaves the decision to its primary
	}
}
