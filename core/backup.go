package core

import "fmt"

// onPrepare takes a prepare. From the primary of the current view, a prepare beyond the
// head extends the log (or, after a gap, becomes the new head); any other prepare is taken
// only if the log's hash chain already names it (repair, retransmission, a prepare of an
// older view that this view re-prepares).
func (r *Replica) onPrepare(m *Prepare) {
	h := &m.PrepareHeader
	if h.View > r.view {
		r.requestStartView(h.View, h.Replica)
		return
	}
	if r.status == StatusRecovering {
		r.drop()
		return
	}
	message := r.received
	changed := false
	switch {
	case r.status == StatusNormal && !r.isPrimary() && h.View == r.view && h.Op > r.journal.op:
		r.timer(timeoutPrimary).reset()
		if h.Op == r.journal.op+1 && h.Parent == r.journal.header(r.journal.op).Checksum {
			r.journal.appendHead(h, message)
		} else {
			r.journal.setHead(h, message, r.commitMin)
		}
		changed = true
	case h.Op == r.commitMax && h.Op > r.journal.op && h.Checksum == r.commitMaxChecksum:
		r.journal.setHead(h, message, r.commitMin) // the committed op a commit told us about
		changed = true
	default:
		changed = r.journal.acceptPrepare(h, message, r.commitMin)
		if !changed && r.journal.held(h.Op, h.Checksum) && r.journal.trusted(h.Op) {
			r.reack(h) // a retransmission: the primary has not seen our ack
			return
		}
	}
	if !changed {
		r.drop()
		return
	}
	if r.bug(BugAckUnheld) && r.status == StatusNormal && !r.isPrimary() && h.Op > r.commitMin {
		m := PrepareOk{Replica: r.index, View: r.view, Op: h.Op, Commit: r.commitMin, Prepare: h.Checksum}
		r.bus.SendToReplica(r.primaryIndex(), r.enc.PrepareOk(&m))
		r.journal.messages[h.Op] = nil
	}
	if r.status == StatusNormal && h.Commit > r.commitMax {
		r.commitMax = h.Commit
	}
	r.journalChanged()
}

// journalChanged follows up on anything the log gained: acknowledge, execute, and for a new
// primary finishing a view change, check whether it can start the view.
func (r *Replica) journalChanged() {
	switch {
	case r.status == StatusNormal && !r.isPrimary():
		r.sendPrepareOks()
		r.executeCommitted()
	case r.status == StatusNormal:
		r.executeCommitted()
	case r.status == StatusViewChange && r.viewChange.installed:
		r.primaryRepairStep()
	}
}

// sendPrepareOks acknowledges every op the primary may still be waiting for (the last
// PipelineMax ops) that the backup holds on its trusted chain and has not yet acknowledged
// in this view. That the backup knows an op committed does not mean the primary does: a
// primary elected by a quorum that did not know prepares it again.
func (r *Replica) sendPrepareOks() {
	from := max(r.journal.chainFrom, 1)
	if r.journal.op >= Op(r.config.PipelineMax) {
		from = max(from, r.journal.op-Op(r.config.PipelineMax)+1)
	}
	for op := from; op <= r.journal.op; op++ {
		h := r.journal.header(op)
		if r.journal.messages[op] == nil {
			continue
		}
		slot := &r.acked[op%HeadersMax]
		if slot.Op == op && slot.Prepare == h.Checksum {
			continue
		}
		r.sendPrepareOk(h)
	}
}

// reack acknowledges a prepare again, after checking that the one held is the same.
func (r *Replica) reack(h *PrepareHeader) {
	if r.status != StatusNormal || r.isPrimary() {
		r.drop()
		return
	}
	held := r.journal.header(h.Op)
	if held.Checksum != h.Checksum {
		panic(fmt.Sprintf("core: re-ack of op %d: holding %v, asked %v", h.Op, held.Checksum, h.Checksum))
	}
	r.sendPrepareOk(held)
}

func (r *Replica) sendPrepareOk(h *PrepareHeader) {
	if !r.journal.trusted(h.Op) || r.journal.messages[h.Op] == nil {
		panic(fmt.Sprintf("core: ack of op %d not held on the trusted chain", h.Op))
	}
	m := PrepareOk{Replica: r.index, View: r.view, Op: h.Op, Commit: r.commitMin, Prepare: h.Checksum}
	r.acked[h.Op%HeadersMax] = m
	r.bus.SendToReplica(r.primaryIndex(), r.enc.PrepareOk(&m))
}

// onCommit takes the primary's heartbeat: it keeps the backup from starting a view change,
// and tells it how far the log is committed.
func (r *Replica) onCommit(m *Commit) {
	if m.View > r.view {
		r.requestStartView(m.View, m.Replica)
		return
	}
	if r.status != StatusNormal || m.View != r.view || r.isPrimary() || m.Replica != r.primaryIndex() {
		r.drop()
		return
	}
	r.timer(timeoutPrimary).reset()
	r.heardFrom(m.Replica)
	if m.Commit <= r.commitMax {
		return
	}
	r.commitMax, r.commitMaxChecksum = m.Commit, m.CommitChecksum
	if r.journal.trusted(m.Commit) && r.journal.header(m.Commit).Checksum != m.CommitChecksum {
		panic(fmt.Sprintf("core: replica %d trusts op %d as %v, the primary committed %v",
			r.index, m.Commit, r.journal.header(m.Commit).Checksum, m.CommitChecksum))
	}
	r.executeCommitted()
}
