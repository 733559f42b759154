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
	r.status = StatusRecovering
	r.recovery = recoveryState{nonce: r.rand.Uint64() | 1,
		responses: make([]RecoveryResponse, r.config.Replicas),
		headers:   make([][]PrepareHeader, r.config.Replicas)}
	r.timer(timeoutRecovery).start()
	r.sendRecovery()
}

func (r *Replica) sendRecovery() {
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
	response := RecoveryResponse{Replica: r.index, View: r.view, Nonce: m.Nonce}
	if r.isPrimary() {
		response.Op, response.Commit, response.Headers = r.journal.op, r.commitMax, r.window()
	}
	r.bus.SendToReplica(m.Replica, r.enc.RecoveryResponse(&response))
}

func (r *Replica) onRecoveryResponse(m *RecoveryResponse) {
	rs := &r.recovery
	if r.status != StatusRecovering || m.Nonce != rs.nonce || m.Replica == r.index {
		r.drop()
		return
	}
	rs.responses[m.Replica] = *m
	rs.responses[m.Replica].Headers = nil
	rs.headers[m.Replica] = append(rs.headers[m.Replica][:0], m.Headers...)
	r.tryRecover()
}

// tryRecover completes the recovery once a replication quorum has answered, the primary of
// the highest view among them included.
func (r *Replica) tryRecover() {
	rs := &r.recovery
	count := 0
	var latest View
	for i := range rs.responses {
		if rs.responses[i].Nonce == rs.nonce {
			count++
			latest = max(latest, rs.responses[i].View)
		}
	}
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
	headers := rs.headers[primary]
	r.journal.installWindow(headers, 0)
	r.becomeNormal(latest)
	r.commitMax = p.Commit
	r.recovery = recoveryState{recoveredOp: p.Op}
	r.stats.Recoveries++
	r.journalChanged()
}
