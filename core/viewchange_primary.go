package core

import "fmt"

// The new primary's side of a view change. It collects do_view_change messages from a
// view-change quorum, installs the best log among them (highest last normal view, then
// highest op: VRR §4.2, step 3), and before it starts the view it makes sure it holds
// every op that might have committed. An op that no one in the quorum holds is truncated
// only if enough replicas say they never held it that it cannot have committed (a nack
// quorum, as in Protocol-Aware Recovery): a committed op was held by a replication
// quorum, and any nack quorum misses at least one of them.

func (r *Replica) onDoViewChange(m *DoViewChange) {
	switch {
	case r.status == StatusRecovering || m.View < r.view || r.config.primaryOf(m.View) != r.index:
		r.drop()
		return
	case m.Replica == r.index:
		panic(fmt.Sprintf("core: replica %d received its own do_view_change", r.index))
	case m.View > r.view:
		r.startViewChange(m.View) // a do_view_change means a quorum has moved on
	}
	// Joined if need be: the message's view is this replica's, and this replica its primary.
	assert(r.view == m.View && r.primaryIndex() == r.index)
	// The decoder's checks, on this side: a log view below the view, headers exactly when
	// the sender's log is not empty.
	assert(m.LogView < m.View && (len(m.Headers) == 0) == (m.Op == 0))
	if r.status == StatusNormal {
		// It missed our start_view (or joining completed the view change at once, in a
		// cluster whose view-change quorum is this replica alone).
		r.sendStartView(m.Replica, 0)
		return
	}
	r.recordDoViewChange(m)
	r.countStartViewChange(m.Replica) // a do_view_change implies its sender's start_view_change
}

// recordDoViewChange keeps a do_view_change (the sender's latest), and installs the best
// log once a quorum is in.
func (r *Replica) recordDoViewChange(m *DoViewChange) {
	if r.status != StatusViewChange || m.View != r.view || r.primaryIndex() != r.index {
		panic(fmt.Sprintf("core: replica %d recording a do_view_change for view %d in %v view %d",
			r.index, m.View, r.status, r.view))
	}
	// What the new primary relies on from every sender, itself included: a log view below
	// this view, and a window of at most HeadersMax headers ending at the sender's head.
	assert(m.LogView < m.View && len(m.Headers) <= HeadersMax)
	assert(len(m.Headers) == 0 || m.Headers[len(m.Headers)-1].Op == m.Op)
	assert(len(m.Headers) == HeadersMax || m.Present>>len(m.Headers) == 0)
	vc := &r.viewChange
	record := doViewChangeRecord{replica: m.Replica, view: m.View, logView: m.LogView, op: m.Op, commit: m.Commit,
		present: m.Present, recoveredOp: m.RecoveredOp, missing: m.Missing, headers: append([]PrepareHeader(nil), m.Headers...)}
	replaced := false
	for i := range vc.dvcs {
		if vc.dvcs[i].replica == m.Replica {
			vc.dvcs[i], replaced = record, true
		}
	}
	if !replaced {
		vc.dvcs = append(vc.dvcs, record)
	}
	if len(vc.dvcs) > r.config.Replicas {
		panic("core: more do_view_change records than replicas")
	}
	var from replicaSet
	for i := range vc.dvcs {
		assert(!from.has(vc.dvcs[i].replica)) // one record per sender: its latest
		from = from.with(vc.dvcs[i].replica)
	}
	if !vc.installed && len(vc.dvcs) >= r.config.QuorumViewChange() {
		r.installBestLog()
	}
	if vc.installed {
		r.primaryRepairStep()
	}
}

// installBestLog installs the log of the do_view_change with the highest (log view, op).
func (r *Replica) installBestLog() {
	vc := &r.viewChange
	assert(r.status == StatusViewChange && r.primaryIndex() == r.index && !vc.installed)
	assert(len(vc.dvcs) > 0)
	best := &vc.dvcs[0]
	commit := r.commitMax
	for i := range vc.dvcs {
		d := &vc.dvcs[i]
		better := d.logView > best.logView || (d.logView == best.logView && d.op > best.op)
		if r.bug(BugShortestLog) {
			better = d.op < best.op
		}
		if better {
			best = d
		}
		commit = max(commit, d.commit)
	}
	if best.op < r.commitMin {
		panic(fmt.Sprintf("core: best log of view %d ends at op %d, below executed op %d", r.view, best.op, r.commitMin))
	}
	// The primary that prepared the best head had committed all but its pipeline.
	if best.op > Op(r.config.PipelineMax) {
		commit = max(commit, best.op-Op(r.config.PipelineMax))
	}
	r.journal.installWindow(best.headers, r.commitMin)
	assert(r.journal.op == best.op)
	r.headUncertain = false // a quorum's best log, installed over whatever this one held
	if min(commit, best.op) < r.commitMax {
		panic(fmt.Sprintf("core: view %d would lower the commit from %d to %d", r.view, r.commitMax, min(commit, best.op)))
	}
	r.commitMax = min(commit, best.op)
	vc.installed = true
	assert(r.commitMin <= r.commitMax && r.commitMax <= r.journal.op)
}

// primaryRepairStep decides, op by op above the commit, whether the new primary holds it,
// can get it, or must truncate it; and starts the view when it holds them all.
func (r *Replica) primaryRepairStep() {
	j := r.journal
	assert(r.status == StatusViewChange && r.viewChange.installed && r.primaryIndex() == r.index)
	if j.chainFrom > r.commitMax {
		// Repair first brings the trusted chain down to the commit, anchoring it; unless the
		// header it waits for is of an op a nack quorum never held.
		r.truncateBelowHole()
		return
	}
	assert(r.commitMax <= j.op)
	for op := r.commitMax + 1; op <= j.op; op++ {
		if j.message(op) != nil {
			continue
		}
		if r.nacks(op, j.header(op).Checksum) >= r.quorumNack() || r.bug(BugTruncateWithoutNacks) {
			j.truncate(op - 1)
			// Only ops above the commit go: a committed op is never truncated.
			assert(j.op == op-1 && j.op >= r.commitMax)
			break
		}
		return // held by someone, or undecided: repair asks, more do_view_change may come
	}
	r.startViewAsPrimary()
}

// truncateBelowHole handles an installed log whose chain from the head stops above the
// commit at an op whose header no replica of the quorum gave: the best log's holder lost
// that op (a crash tore its write, the op above it landed) and nobody else held it. If a
// nack quorum shows it never held that op (their logs end below it), the op is uncommitted
// and so is every op above it: the log becomes the same log view's ending just below it,
// from a do_view_change of that log view whose window reaches there (logs of one log view
// agree). Without this the view change waited forever for a header nobody had (swarm seed
// 755, FuzzCluster's seed 1).
func (r *Replica) truncateBelowHole() {
	j, vc := r.journal, &r.viewChange
	assert(r.status == StatusViewChange && vc.installed && r.primaryIndex() == r.index)
	assert(j.chainFrom > r.commitMax && j.chainFrom > 0)
	hole := j.chainFrom - 1
	if j.known(hole) || hole <= r.commitMax {
		return // a header to link is there (stale, to be replaced by repair), or committed
	}
	nacks, logView := 0, View(0)
	for i := range vc.dvcs {
		d := &vc.dvcs[i]
		logView = max(logView, d.logView)
		if !d.abstains(hole) && d.lacks(hole) {
			nacks++
		}
	}
	if nacks < r.quorumNack() && !r.bug(BugTruncateWithoutNacks) {
		return
	}
	for i := range vc.dvcs {
		d := &vc.dvcs[i]
		if d.logView != logView || d.op < hole-1 {
			continue
		}
		for k := range d.headers {
			if d.headers[k].Op != hole-1 {
				continue
			}
			// The same log view's log up to just below the hole: the log from here on.
			assert(hole-1 >= r.commitMin)
			j.installWindow(d.headers[:k+1], r.commitMin)
			assert(j.op == hole-1 && j.op >= r.commitMax)
			return
		}
	}
	// No window reaches there (every log of the quorum lacks the hole, and the windows stop
	// above it): the log from the executed ops up, as far as this replica's own entries link
	// to them, is that log view's below the hole, if this replica's log is of that log view.
	if r.logView != logView || r.commitMin >= hole-1 {
		return
	}
	headers := make([]PrepareHeader, 0, HeadersMax)
	parent := j.header(r.commitMin).Checksum
	for op := r.commitMin + 1; op < hole && len(headers) < HeadersMax; op++ {
		if op > j.op || j.entry(op).header.Checksum.IsZero() || j.entry(op).header.Op != op ||
			j.entry(op).header.Parent != parent {
			break
		}
		headers = append(headers, j.entry(op).header)
		parent = headers[len(headers)-1].Checksum
	}
	if n := len(headers); n > 0 && headers[n-1].Op == hole-1 {
		j.installWindow(headers, r.commitMin)
		assert(j.op == hole-1 && j.op >= r.commitMax)
	}
}

// abstains reports whether a do_view_change says nothing of op: its sender may have
// acknowledged it in a life it lost, or knows it committed (the op its state was restored
// at, whose prepare it does not hold, among them).
func (d *doViewChangeRecord) abstains(op Op) bool {
	assert(op > 0)
	return op <= d.recoveredOp || op <= d.commit
}

// lacks reports whether a do_view_change shows its sender's log without any prepare at op:
// the log ends below it, or it names op as the hole below its window (Missing).
func (d *doViewChangeRecord) lacks(op Op) bool {
	assert(op > 0)
	assert(d.missing == 0 || len(d.headers) > 0 && d.missing < d.headers[0].Op)
	return d.op < op || d.missing == op
}

// quorumNack is how many replicas must never have held an op to prove it uncommitted.
func (r *Replica) quorumNack() int { return r.config.Replicas - r.config.QuorumReplication() + 1 }

// nacks counts the do_view_change records that prove their sender never held the prepare
// with this checksum at op: its log ends below op, or its window shows another prepare
// there, or shows this one as not held. A sender that lost its state abstains for the ops
// it may have acknowledged before it crashed.
func (r *Replica) nacks(op Op, checksum Checksum) int {
	// Only ops above the commit are in doubt, and only the new primary counts.
	assert(op > r.commitMax && r.status == StatusViewChange && r.primaryIndex() == r.index)
	count := 0
	for i := range r.viewChange.dvcs {
		d := &r.viewChange.dvcs[i]
		if d.view != r.view {
			panic(fmt.Sprintf("core: counting a do_view_change of view %d in view %d", d.view, r.view))
		}
		assert(len(d.headers) == 0 || d.headers[len(d.headers)-1].Op == d.op)
		if d.abstains(op) {
			continue
		}
		if d.lacks(op) {
			count++
			continue
		}
		for k := range d.headers {
			if d.headers[k].Op == op {
				if d.headers[k].Checksum != checksum || d.present&(1<<k) == 0 {
					count++
				}
			}
		}
	}
	assert(count <= len(r.viewChange.dvcs))
	return count
}

// holders lists the replicas whose do_view_change says they hold the prepare at op.
func (r *Replica) holder(op Op, checksum Checksum) (ReplicaIndex, bool) {
	// Asked by repair while the new primary fills in its installed log.
	assert(r.status == StatusViewChange && r.viewChange.installed && op > r.commitMin)
	for i := range r.viewChange.dvcs {
		d := &r.viewChange.dvcs[i]
		if d.replica == r.index {
			continue
		}
		for k := range d.headers {
			if d.headers[k].Op == op && d.headers[k].Checksum == checksum && d.present&(1<<k) != 0 {
				return d.replica, true
			}
		}
	}
	return 0, false
}

// startViewAsPrimary begins the view: the uncommitted ops become the pipeline, prepared
// again in this view, and the backups get the log (VRR §4.2, step 4).
func (r *Replica) startViewAsPrimary() {
	j := r.journal
	assert(r.status == StatusViewChange && r.viewChange.installed && r.primaryIndex() == r.index)
	// Trust reaches the commit from the head: the commit message names a header held there.
	assert(j.chainFrom <= r.commitMax && r.commitMax <= j.op)
	if j.op-r.commitMax > Op(r.config.PipelineMax) {
		panic(fmt.Sprintf("core: view %d starts with ops %d to %d uncommitted, over the pipeline",
			r.view, r.commitMax+1, j.op))
	}
	for i := range r.viewChange.dvcs {
		// Every op a sender knew committed is in the log the view starts with (VRR §4.2):
		// neither installing the best log nor truncating what a nack quorum never held lost
		// it. (It may be above the commit: a sender that joined after the install knew
		// more than the quorum did, and the op commits again through the pipeline.)
		if d := &r.viewChange.dvcs[i]; d.commit > j.op {
			panic(fmt.Sprintf("core: view %d starts with head %d, replica %d knew op %d committed",
				r.view, j.op, d.replica, d.commit))
		}
	}
	r.becomeNormal(r.view)
	for op := r.commitMax + 1; op <= j.op; op++ {
		if !j.trusted(op) || j.message(op) == nil {
			panic(fmt.Sprintf("core: view %d starts without op %d", r.view, op))
		}
		r.primary.pipeline = append(r.primary.pipeline,
			pipelineEntry{op: op, checksum: j.header(op).Checksum, acks: r.ownAck(op)})
		r.noteInflight(op)
	}
	r.primary.timestampLast = max(r.primary.timestampLast, j.header(j.op).Timestamp)
	r.stats.ViewsStarted++
	for i := 0; i < r.config.Replicas; i++ {
		if ReplicaIndex(i) != r.index {
			r.sendStartView(ReplicaIndex(i), 0)
		}
	}
	r.executeCommitted()
	if r.config.QuorumReplication() == 1 {
		r.commitPipeline()
	}
	r.primaryInvariants() // the view starts in the state every later event keeps
}

// noteInflight records the requests of a pipeline op as in flight.
func (r *Replica) noteInflight(op Op) {
	assert(r.primary.inflight != nil && op > r.commitMax && op <= r.journal.op)
	h := r.journal.header(op)
	assert(h.Requests > 0 && getChecksum(r.journal.message(op)) == h.Checksum)
	it := newBatchIterator(r.journal.message(op)[HeaderSize:], h.Requests)
	var m Request
	for it.Next(&m) {
		assert(m.Client != 0)
		r.primary.inflight[m.Client] = inflightRequest{session: m.Session, request: m.Request}
	}
}
