package core

import "fmt"

// viewChangeState is what a replica keeps while it changes views (VRR §4.2).
type viewChangeState struct {
	svcFrom replicaSet // start_view_change for the current view, from these replicas
	dvcSent bool
	// The new primary collects do_view_change messages, then installs the best log
	// (installed) and repairs it before it starts the view.
	dvcs      []doViewChangeRecord
	installed bool
	// A replica in normal status does not join a higher view on one replica's word: it
	// records votes, and joins once a view-change quorum of others asks (see onStartViewChange).
	votes []View
}

// doViewChangeRecord is a do_view_change the new primary received, copied out of the
// decoder.
type doViewChangeRecord struct {
	replica     ReplicaIndex
	view        View
	logView     View
	op          Op
	commit      Op
	present     uint64
	recoveredOp Op
	missing     Op // DoViewChange.Missing
	headers     []PrepareHeader
}

// startViewChange moves to view v and asks the others to follow: the one place a replica
// enters view-change status.
func (r *Replica) startViewChange(v View) {
	// A restart continues the view change its root was in: the same view.
	if v <= r.view && !(v == r.view && r.status == StatusOpening) {
		panic(fmt.Sprintf("core: replica %d view change to %d from view %d", r.index, v, r.view))
	}
	if r.status == StatusRecovering {
		panic("core: a recovering replica takes no part in view changes")
	}
	votes := r.viewChange.votes
	r.status, r.view = StatusViewChange, v
	r.viewChange = viewChangeState{svcFrom: replicaSet(0).with(r.index), votes: votes}
	r.primary.pipeline, r.primary.queue, r.primary.inflight = r.primary.pipeline[:0], r.primary.queue[:0], nil
	r.timer(timeoutHeartbeat).stop()
	r.timer(timeoutPrepareRetry).stop()
	r.timer(timeoutPrimary).stop()
	if t := r.timer(timeoutViewChange); t.running {
		t.backoff(r.rand)
	} else {
		t.start()
		t.jitter(r.rand)
	}
	r.timer(timeoutViewChangeSend).start()
	// The log stays as it was in the last normal view, below the view being changed to.
	assert(r.logView < r.view && r.commitMin <= r.journal.op)
	r.sendStartViewChange()
	r.checkStartViewChangeQuorum()
	assert(r.view == v) // completing the view change (a quorum of one) stays in view v
}

// viewChangeInvariants asserts, in O(1), what holds of a replica changing views between
// events.
func (r *Replica) viewChangeInvariants() {
	vc, p := &r.viewChange, &r.primary
	assert(r.status == StatusViewChange && r.logView < r.view)
	assert(vc.svcFrom.has(r.index) && vc.svcFrom>>r.config.Replicas == 0)
	assert(!vc.dvcSent || vc.svcFrom.count() >= r.config.QuorumViewChange())
	// Only the new primary collects do_view_change messages and installs a log; once it has,
	// its log holds everything known committed.
	assert(len(vc.dvcs) == 0 || r.primaryIndex() == r.index)
	assert(!vc.installed || len(vc.dvcs) >= r.config.QuorumViewChange())
	assert(!vc.installed || r.commitMax <= r.journal.op)
	assert(len(p.pipeline) == 0 && len(p.queue) == 0 && p.inflight == nil)
	assert(r.timer(timeoutViewChange).running && r.timer(timeoutViewChangeSend).running)
	assert(!r.timer(timeoutHeartbeat).running && !r.timer(timeoutPrepareRetry).running)
	assert(!r.timer(timeoutPrimary).running && !r.timer(timeoutRecovery).running)
}

func (r *Replica) viewChangeTimeouts() {
	if t := r.timer(timeoutViewChange); t.fired() {
		r.startViewChange(r.view + 1)
		return
	}
	if t := r.timer(timeoutViewChangeSend); t.fired() {
		r.sendStartViewChange()
		if r.viewChange.dvcSent && r.primaryIndex() != r.index {
			r.sendDoViewChange()
		}
		t.reset()
	}
}

func (r *Replica) sendStartViewChange() {
	// The receiver's decoder rejects view 0: no view change ever leads to it.
	assert(r.status == StatusViewChange && r.view > 0)
	assert(r.viewChange.svcFrom.has(r.index))
	m := StartViewChange{Replica: r.index, View: r.view}
	r.sendToOthers(r.enc.StartViewChange(&m))
}

// onStartViewChange counts a replica's wish to leave the current primary. A replica in
// view-change status follows any higher view. A replica in normal status does not: one
// replica cut off from the primary in one direction only would otherwise depose a primary
// that every other replica hears. It joins a higher view only once a view-change quorum of
// the others asks for one at least as high (or its own patience with the primary runs out).
func (r *Replica) onStartViewChange(m *StartViewChange) {
	switch {
	case r.status == StatusRecovering || m.View < r.view || m.Replica == r.index:
		r.drop()
	case m.View == r.view && r.status == StatusNormal:
		if r.isPrimary() {
			r.sendStartView(m.Replica, 0) // the sender missed the view it asks for
		}
	case m.View == r.view:
		assert(r.status == StatusViewChange && m.View > 0)
		r.countStartViewChange(m.Replica)
	case r.status == StatusViewChange:
		assert(m.View > r.view)
		r.startViewChange(m.View)
		r.countStartViewChange(m.Replica)
		assert(r.view == m.View)
	default:
		r.voteForViewChange(m)
	}
}

func (r *Replica) voteForViewChange(m *StartViewChange) {
	assert(r.status == StatusNormal && m.View > r.view && m.Replica != r.index)
	if r.viewChange.votes == nil {
		r.viewChange.votes = make([]View, r.config.Replicas)
	}
	votes := r.viewChange.votes
	assert(len(votes) == r.config.Replicas && int(m.Replica) < len(votes))
	votes[m.Replica] = max(votes[m.Replica], m.View)
	asking := 0
	for i, v := range votes {
		if ReplicaIndex(i) != r.index && v >= m.View {
			asking++
		}
	}
	assert(asking < r.config.Replicas) // its own vote is never counted
	if asking >= r.config.QuorumViewChange() {
		r.startViewChange(m.View)
		for i, v := range votes {
			if v == m.View && ReplicaIndex(i) != r.index {
				r.countStartViewChange(ReplicaIndex(i))
			}
		}
	}
}

// countStartViewChange counts a replica's start_view_change for the current view, unless
// joining the view change has already completed it (a view-change quorum of one).
func (r *Replica) countStartViewChange(replica ReplicaIndex) {
	if r.status != StatusViewChange {
		return
	}
	// Every caller counts another replica's vote, for the view this replica is changing to.
	assert(replica != r.index && int(replica) < r.config.Replicas)
	r.viewChange.svcFrom = r.viewChange.svcFrom.with(replica)
	r.checkStartViewChangeQuorum()
}

// checkStartViewChangeQuorum sends do_view_change once a view-change quorum agrees.
func (r *Replica) checkStartViewChangeQuorum() {
	vc := &r.viewChange
	if r.status != StatusViewChange {
		panic("core: counting start_view_change outside a view change")
	}
	if vc.svcFrom>>r.config.Replicas != 0 || !vc.svcFrom.has(r.index) {
		panic(fmt.Sprintf("core: start_view_change votes %b in a cluster of %d", vc.svcFrom, r.config.Replicas))
	}
	if vc.dvcSent || vc.svcFrom.count() < r.config.QuorumViewChange() {
		return
	}
	vc.dvcSent = true
	r.sendDoViewChange()
}

// window returns the trusted headers ending at the head: at most PipelineMax+1 of them,
// enough to hold every op that might not be committed and the one below to anchor them.
func (r *Replica) window() []PrepareHeader {
	j := r.journal
	size := Op(r.config.PipelineMax + 1)
	from := max(j.chainFrom, 1)
	if j.op >= size && j.op-size+1 > from {
		from = j.op - size + 1
	}
	if j.op == 0 {
		return nil
	}
	assert(from >= 1 && from <= j.op && j.trusted(from))
	r.windowBuf = r.windowBuf[:0]
	for op := from; op <= j.op; op++ {
		h := j.header(op)
		// The receiver's decoder requires what the trusted chain gives: consecutive ops,
		// each linking to the one below.
		if op > from && h.Parent != r.windowBuf[len(r.windowBuf)-1].Checksum {
			panic(fmt.Sprintf("core: replica %d's trusted chain breaks at op %d", r.index, op))
		}
		r.windowBuf = append(r.windowBuf, *h)
	}
	assert(len(r.windowBuf) <= int(size) && len(r.windowBuf) <= HeadersMax)
	return r.windowBuf
}

func (r *Replica) ownDoViewChange() DoViewChange {
	headers := r.window()
	// What the receiver's decoder requires: headers exactly when the log is not empty, and
	// the last of them at the head.
	assert((len(headers) == 0) == (r.journal.op == 0))
	assert(len(headers) == 0 || headers[len(headers)-1].Op == r.journal.op)
	var present uint64
	for i := range headers {
		if r.journal.message(headers[i].Op) != nil {
			present |= 1 << i
		}
	}
	// The op below the trusted chain, when its header is unknown: the log lacks it. Held
	// once and acknowledged, it would be on disk (a restart reads it back, or abstains on
	// it when damaged: recoveredOp); so lacking it, the replica never acknowledged it.
	var missing Op
	if j := r.journal; len(headers) > 0 && j.chainFrom > j.floor+1 && j.chainFrom == headers[0].Op &&
		!j.known(j.chainFrom-1) && j.chainFrom-1 > r.recovery.recoveredOp && j.chainFrom-1 > r.commitMax {
		missing = j.chainFrom - 1
	}
	return DoViewChange{Replica: r.index, View: r.view, LogView: r.logView, Op: r.journal.op,
		Commit: r.commitMax, Present: present, RecoveredOp: r.recovery.recoveredOp, Missing: missing,
		Headers: headers}
}

func (r *Replica) sendDoViewChange() {
	// Sent only while changing views, once a view-change quorum has asked for this view.
	assert(r.status == StatusViewChange && r.logView < r.view)
	assert(r.viewChange.dvcSent && r.viewChange.svcFrom.count() >= r.config.QuorumViewChange())
	if r.root.View != r.view || r.root.LogView != r.logView {
		return // the view and log view it claims are not durable: the root's write sends it
	}
	if r.headUncertain && !r.headRepaired() {
		return // it cannot say where its log ends (restart.go): it waits for a log installed
	}
	m := r.ownDoViewChange()
	if r.primaryIndex() == r.index {
		r.recordDoViewChange(&m)
		return
	}
	r.bus.SendToReplica(r.primaryIndex(), r.enc.DoViewChange(&m))
}

// onStartView installs the view's log from its new primary (VRR §4.2, step 5).
func (r *Replica) onStartView(m *StartView) {
	switch {
	case r.status == StatusRecovering || m.View < r.view:
		r.drop()
		return
	case m.View == r.view && r.status == StatusNormal:
		r.drop() // installed already
		return
	case m.Replica == r.index:
		panic(fmt.Sprintf("core: replica %d received its own start_view", r.index))
	}
	if m.Op < r.commitMin {
		panic(fmt.Sprintf("core: start_view of view %d at op %d, below executed op %d", m.View, m.Op, r.commitMin))
	}
	if m.Op < r.commitMax {
		// Every op known committed is in every later view's log (VRR §4.2).
		panic(fmt.Sprintf("core: replica %d: start_view of view %d ends at op %d, "+
			"below op %d known committed", r.index, m.View, m.Op, r.commitMax))
	}
	// The decoder's checks, on this side: from the view's primary, the window ending at op.
	assert(m.Replica == r.config.primaryOf(m.View) && m.Commit <= m.Op)
	assert(len(m.Headers) == 0 || m.Headers[len(m.Headers)-1].Op == m.Op)
	r.journal.installWindow(m.Headers, r.commitMin)
	assert(r.journal.op == m.Op)
	r.headUncertain = false // the view's head is the primary's: nothing of ours above it counts
	r.becomeNormal(m.View)
	r.commitMax = max(r.commitMax, m.Commit)
	r.journalChanged()
	assert(r.status == StatusNormal && r.view == m.View && !r.isPrimary())
}

// requestStartView asks the primary of a newer view for its start_view: this replica
// missed a view change.
func (r *Replica) requestStartView(v View, primary ReplicaIndex) {
	if r.status == StatusRecovering || primary == r.index || primary != r.config.primaryOf(v) {
		r.drop()
		return
	}
	assert(v > r.view && v > 0) // a view this replica has not reached
	m := RequestStartView{Replica: r.index, View: v}
	r.bus.SendToReplica(primary, r.enc.RequestStartView(&m))
}

func (r *Replica) onRequestStartView(m *RequestStartView) {
	if r.status != StatusNormal || m.View != r.view || !r.isPrimary() || m.Replica == r.index {
		r.drop()
		return
	}
	assert(m.View > 0) // the decoder's check, on this side
	r.sendStartView(m.Replica, 0)
}

func (r *Replica) sendStartView(target ReplicaIndex, nonce uint64) {
	// Only the normal primary of the view sends its log, and what it sends passes the
	// receiver's decoder: the commit within the log, the window ending at the head.
	assert(r.status == StatusNormal && r.isPrimary() && r.logView == r.view)
	assert(target != r.index && int(target) < r.config.Replicas)
	assert(r.commitMax <= r.journal.op)
	if !r.rootNormal() {
		return // not normal in this view on disk yet: the root's write sends it to everyone
	}
	m := StartView{Replica: r.index, View: r.view, Op: r.journal.op, Commit: r.commitMax,
		Nonce: nonce, Headers: r.window()}
	r.bus.SendToReplica(target, r.enc.StartView(&m))
}
