package core

import "fmt"

// recoveryState is what a replica that lost its state keeps while it recovers (VRR §4.3).
type recoveryState struct {
	nonce     uint64
	responses []RecoveryResponse // by replica; Nonce 0 when none yet
	headers   [][]PrepareHeader  // the log each response carried
	// recoveredOp is the head this replica recovered to. Before it crashed it may have
	// acknowledged any op up to here, so in a view change it never says it lacks one of
	// them: a nack from it could otherwise truncate an op it helped commit.
	recoveredOp Op
}

// startRecovery enters recovering status: the replica takes no part in the protocol until a
// quorum, including the primary of the latest view, has told it the state of the cluster.
func (r *Replica) startRecovery() {
	// A replica recovers from nothing: a fresh log, no view, no role.
	assert(r.view == 0 && r.journal.op == 0 && r.commitMin == 0 && r.commitMax == 0)
	assert(r.status == StatusRecovering && !r.headUncertain)
	assert(!r.timer(timeoutPrimary).running && !r.timer(timeoutHeartbeat).running)
	r.status = StatusRecovering
	r.recovery = recoveryState{nonce: r.rand.Uint64() | 1,
		responses: make([]RecoveryResponse, r.config.Replicas),
		headers:   make([][]PrepareHeader, r.config.Replicas)}
	r.timer(timeoutRecovery).start()
	r.sendRecovery()
}

func (r *Replica) sendRecovery() {
	assert(r.status == StatusRecovering && r.recovery.nonce != 0) // a zero nonce is invalid
	m := Recovery{Replica: r.index, Nonce: r.recovery.nonce}
	r.sendToOthers(r.enc.Recovery(&m))
}

// onRecovery answers a recovering replica. Only a replica in normal status answers, and
// only the primary sends its log.
func (r *Replica) onRecovery(m *Recovery) {
	if r.status != StatusNormal || m.Replica == r.index {
		r.drop()
		return
	}
	assert(m.Nonce != 0) // the decoder's check, on this side: the nonce comes back
	response := RecoveryResponse{Replica: r.index, View: r.view, Nonce: m.Nonce}
	if r.isPrimary() {
		response.Op, response.Commit, response.Headers = r.journal.op, r.commitMax, r.window()
		// What the receiver's decoder requires of the primary's log, and installs.
		assert(response.Commit <= response.Op && (len(response.Headers) == 0) == (response.Op == 0))
	}
	r.bus.SendToReplica(m.Replica, r.enc.RecoveryResponse(&response))
}

func (r *Replica) onRecoveryResponse(m *RecoveryResponse) {
	rs := &r.recovery
	if r.status != StatusRecovering || m.Nonce != rs.nonce || m.Replica == r.index {
		r.drop()
		return
	}
	// The decoder's checks, on this side: only the primary of its view sends a log.
	assert(int(m.Replica) < len(rs.responses) && m.Commit <= m.Op)
	assert(m.Replica == r.config.primaryOf(m.View) || (m.Op == 0 && len(m.Headers) == 0))
	rs.responses[m.Replica] = *m
	rs.responses[m.Replica].Headers = nil
	rs.headers[m.Replica] = append(rs.headers[m.Replica][:0], m.Headers...)
	r.tryRecover()
}

// tryRecover completes the recovery once a replication quorum has answered, the primary of
// the highest view among them included.
func (r *Replica) tryRecover() {
	rs := &r.recovery
	assert(r.status == StatusRecovering && rs.nonce != 0)
	count := 0
	var latest View
	for i := range rs.responses {
		if rs.responses[i].Nonce == rs.nonce {
			count++
			latest = max(latest, rs.responses[i].View)
		}
	}
	assert(count < r.config.Replicas) // its own response is never among them
	if count < r.config.QuorumReplication() {
		return
	}
	primary := r.config.primaryOf(latest)
	p := &rs.responses[primary]
	if p.Nonce != rs.nonce || p.View != latest {
		return // wait for the primary of that view; a later view change may also answer
	}
	if r.commitMin != 0 || r.journal.op != 0 {
		panic(fmt.Sprintf("core: replica %d recovering with op %d executed", r.index, r.commitMin))
	}
	// The primary answered: this replica (which never answers itself) recovers as a backup.
	assert(primary != r.index && p.Replica == primary && p.Commit <= p.Op)
	headers := rs.headers[primary]
	r.journal.installWindow(headers, 0)
	assert(r.journal.op == p.Op)
	r.becomeNormal(latest)
	r.commitMax = p.Commit
	r.recovery = recoveryState{recoveredOp: p.Op}
	r.stats.Recoveries++
	r.journalChanged()
	assert(r.status == StatusNormal && r.view == latest && !r.isPrimary())
}
