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
	// The decoder's checks, on this side: the prepare is the message received, made by the
	// primary of its view, and (as every primary prepares) at most a pipeline above the
	// commit it names.
	assert(h.Op > 0 && h.Commit < h.Op && h.Replica == r.config.primaryOf(h.View))
	assert(len(message) == int(h.Size) && getChecksum(message) == h.Checksum)
	if h.Op-h.Commit > Op(r.config.PipelineMax) {
		panic(fmt.Sprintf("core: prepare of op %d in view %d names commit %d, over the pipeline",
			h.Op, h.View, h.Commit))
	}
	changed := false
	switch {
	case r.status == StatusNormal && !r.isPrimary() && h.View == r.view && h.Op > r.journal.op:
		assert(h.Replica == r.primaryIndex() && r.logView == r.view)
		r.timer(timeoutPrimary).reset()
		changed = r.extend(h, message)
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
		r.journal.entry(h.Op).message = nil
	}
	if r.status == StatusNormal && h.Commit > r.commitMax {
		r.commitMax = h.Commit
	}
	assert(r.commitMin <= r.commitMax && r.commitMin <= r.journal.op)
	r.journalChanged()
}

// extend adds a prepare of the current view beyond the head. A log may have a gap only
// where every op in it is committed: committed ops are held by a quorum that keeps its
// state, so repair always fills such a gap. An uncommitted op in a gap may be held by no one
// alive (its primary crashed, its prepares were lost), and then no new primary could anchor
// its log and no view would ever start. So a prepare ahead of an uncommitted op below it
// waits outside the log (VRR §4.1: a backup waits until it has every earlier op) for that op,
// which the primary resends and repair asks for by the checksum the waiting prepare names;
// a prepare above only committed ops (its primary's commit says so) becomes the head at once,
// and repair brings the ops below. A prepare of op+1 whose parent is not the head shows the
// head stale (left from an older view): the prepare replaces it.
func (r *Replica) extend(h *PrepareHeader, message []byte) bool {
	j := r.journal
	assert(r.status == StatusNormal && !r.isPrimary())
	assert(h.View == r.view && h.Op > j.op && h.Op > r.commitMin)
	if h.Op > j.op+1 && h.Op-1 > max(h.Commit, r.commitMax) {
		r.waiting.put(h, message, j.op+Op(r.config.PipelineMax))
		return false
	}
	if h.Op > j.op+1 || h.Parent != j.header(j.op).Checksum {
		j.setHead(h, message, r.commitMin)
	} else {
		j.appendHead(h, message)
	}
	assert(j.op == h.Op && j.held(h.Op, h.Checksum))
	for {
		next, ok := r.waiting.take(j.op+1, j.header(j.op).Checksum)
		if !ok {
			assert(j.trusted(h.Op) && j.op >= h.Op)
			return true
		}
		assert(next.header.View == r.view) // becomeNormal empties the slots of older views
		j.appendHead(&next.header, next.message)
	}
}

// waitingPrepares holds prepares of the current view that arrived before the op below
// them: at most one per op in the pipeline's reach, by op.
type waitingPrepares struct {
	slots [HeadersMax]waitingPrepare
}

type waitingPrepare struct {
	header   PrepareHeader
	message  []byte // its buffer is kept for the next prepare of the slot
	occupied bool
}

// put keeps a prepare whose op is no further than limit.
func (w *waitingPrepares) put(h *PrepareHeader, message []byte, limit Op) {
	if h.Op > limit {
		return
	}
	slot := &w.slots[h.Op%HeadersMax]
	if slot.occupied && slot.header.Op == h.Op && slot.header.View == h.View &&
		slot.header.Checksum != h.Checksum {
		// A primary prepares each op once in its view: two prepares of one op and view are
		// a primary that forgot what it prepared.
		panic(fmt.Sprintf("core: two prepares of op %d in view %d: %v and %v", h.Op, h.View,
			slot.header.Checksum, h.Checksum))
	}
	slot.header, slot.occupied = *h, true
	slot.message = append(slot.message[:0], message...)
	assert(len(slot.message) == int(h.Size))
}

// take removes the prepare waiting at op if it links to parent. What it returns is valid
// until the next put.
func (w *waitingPrepares) take(op Op, parent Checksum) (*waitingPrepare, bool) {
	slot := &w.slots[op%HeadersMax]
	if !slot.occupied || slot.header.Op != op {
		return nil, false
	}
	slot.occupied = false
	if slot.header.Parent != parent {
		return nil, false // from a log this view has replaced
	}
	// The slot's buffer serves prepare after prepare: it must still be this one.
	assert(len(slot.message) == int(slot.header.Size))
	assert(getChecksum(slot.message) == slot.header.Checksum)
	return slot, true
}

// parentOf returns the checksum the prepare waiting above op names for op, if one waits.
func (w *waitingPrepares) parentOf(op Op) (Checksum, bool) {
	slot := &w.slots[(op+1)%HeadersMax]
	if !slot.occupied || slot.header.Op != op+1 {
		return Checksum{}, false
	}
	assert(!slot.header.Parent.IsZero())
	return slot.header.Parent, true
}

func (w *waitingPrepares) clear() {
	for i := range w.slots {
		w.slots[i].occupied = false
	}
}

// journalChanged follows up on anything the log gained: acknowledge, execute, and for a new
// primary finishing a view change, check whether it can start the view.
func (r *Replica) journalChanged() {
	assert(r.status != StatusRecovering) // a recovering replica takes nothing into its log
	assert(!r.viewChange.installed || r.primaryIndex() == r.index)
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
	assert(r.status == StatusNormal && !r.isPrimary() && r.logView == r.view)
	if !r.rootNormal() {
		return // not normal in this view on disk yet: the root's write sends them (durability.go)
	}
	from := max(r.journal.chainFrom, 1)
	if r.journal.op >= Op(r.config.PipelineMax) {
		from = max(from, r.journal.op-Op(r.config.PipelineMax)+1)
	}
	for op := from; op <= r.journal.op; op++ {
		h := r.journal.header(op)
		if r.journal.message(op) == nil || !r.ackable(op) {
			continue // not held, or not durable yet: its writes' completion sends it
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
	assert(r.journal.trusted(h.Op) && h.View <= r.view)
	held := r.journal.header(h.Op)
	if held.Checksum != h.Checksum {
		panic(fmt.Sprintf("core: re-ack of op %d: holding %v, asked %v", h.Op, held.Checksum, h.Checksum))
	}
	if !r.ackable(h.Op) {
		return // its writes' completion sends the ack (sendPrepareOks)
	}
	r.sendPrepareOk(held)
}

func (r *Replica) sendPrepareOk(h *PrepareHeader) {
	if !r.journal.trusted(h.Op) || r.journal.message(h.Op) == nil {
		panic(fmt.Sprintf("core: ack of op %d not held on the trusted chain", h.Op))
	}
	// Only a backup of a view it is normal in acks, and it acks the prepare it holds at op
	// (never a header from elsewhere): the primary counts this ack toward a commit.
	assert(r.status == StatusNormal && !r.isPrimary() && r.logView == r.view)
	if !r.journal.held(h.Op, h.Checksum) {
		panic(fmt.Sprintf("core: ack of op %d as %v, holding %v", h.Op, h.Checksum,
			r.journal.header(h.Op).Checksum))
	}
	assert(h.Op > 0 && h.View <= r.view)
	// Durable: the prepare and its header are on disk, and the root says normal in this view.
	assert(r.ackable(h.Op))
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
	// What the primary committed is what this replica executed there, or trusts there: old
	// commits included, so a divergence shows at the first heartbeat after it.
	onChain := r.journal.trusted(m.Commit) || m.Commit <= r.commitMin && m.Commit >= r.journal.floor
	if onChain && r.journal.header(m.Commit).Checksum != m.CommitChecksum {
		panic(fmt.Sprintf("core: replica %d trusts op %d as %v, the primary committed %v",
			r.index, m.Commit, r.journal.header(m.Commit).Checksum, m.CommitChecksum))
	}
	if m.Commit <= r.commitMax {
		return
	}
	r.commitMax, r.commitMaxChecksum = m.Commit, m.CommitChecksum
	r.executeCommitted()
	assert(r.commitMin <= r.commitMax)
}
