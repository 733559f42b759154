package core

import (
	"fmt"
)

// A restart from disk: what a replica does with the root and the slots its opening read
// back (open.go).
//
// Status after a restart, from the root's view and log view:
//
//   - log view == view, and not the primary of view, and the head certain: a normal backup
//     in view (its log is that view's);
//   - log view == view and the primary of view (it lost its pipeline and its count of
//     acknowledgements), or the head uncertain: a view change to view+1;
//   - log view < view (it had left its log view): the view change for view, continued.
//
// The log reaches at least the head its log view installed: the root holds that log's last
// headers (rootState.Window), which the journal takes for the ops the disk lacks or holds
// otherwise. The head is uncertain when an op the replica may have acknowledged and cannot
// read back lies at or near the end of its log beyond what the root's window names: a
// slotDamaged or slotUnknown op among the last PipelineMax+1 ops (the window a
// do_view_change describes) and not in the root's window, or (a root without a window)
// the installed head above the disk's.
// Such a replica cannot prove where its log ends, so it sends no do_view_change
// (headUncertain, TigerBeetle's recovering_head) until a log is installed over it: by a
// start_view, by its own view change from others' votes, or by a recovery. Independently of
// that, it never nacks an op it may have acknowledged and holds only in corrupt form: its
// do_view_change abstains for every op up to the highest damaged or unknown one (the
// recoveredOp of a recovery, which has the same meaning). And it acknowledges such an op only
// once repair brought it back and it is durable again (ackable).

// restartFromDisk builds the log from the slots read, and takes the status the root says.
func (r *Replica) restartFromDisk(o *opening) {
	root := &o.root
	assert(o.choice == rootFound && root.LogView <= root.View && root.Sequence > 0)
	r.root = *root // every copy of it was written and completed
	if c := &root.Checkpoint; c.ID.Op > 0 {
		// The state is the checkpoint's, and the log begins at its op. A checkpoint that
		// did not read back whole leaves the state missing: a state transfer brings it.
		if o.stats.checkpoint == checkpointWhole {
			r.restoreState(*c, o.checkpoint, o.checkpointSums)
		} else {
			r.stateMissing = true
		}
		r.journal.setFloor(&c.Header, 0)
		r.commitMin, r.restoredAt = c.ID.Op, c.ID.Op
		r.journal.compact(c.ID.Op)
	}
	r.openLog(o)
	r.view, r.logView = root.View, root.LogView
	j := r.journal
	r.commitMax = max(min(max(root.Commit, j.header(j.op).Commit), j.op), r.commitMin)
	// What the root says of the installed head stays what the disk says, until a view is
	// installed again: ops appended since are of this log view. Set before the status: a
	// view change may finish at once (a cluster of one or two votes alone) and install its
	// own head, which the root's older one must not overwrite.
	r.headInstalled, r.headInstalledChecksum = root.Head, root.HeadChecksum
	r.headInstalledWindow = append(r.headInstalledWindow[:0], root.window()...)
	switch {
	case r.logView == r.view && !r.isPrimary() && !r.headUncertain:
		r.becomeNormal(r.view) // the same log view: the root's head stays installed
		r.executeCommitted()
	case r.logView == r.view:
		r.startViewChange(r.view + 1)
	default:
		r.startViewChange(r.view)
	}
	r.stats.Restarts++
	// A view change may finish at once (a cluster of one votes alone): the log view moves.
	assert(r.view >= root.View && r.logView >= root.LogView)
}

// openLog puts the slots read into the journal and marks what is on disk already, applying
// the root's head rule, and notes whether the head is uncertain.
func (r *Replica) openLog(o *opening) {
	root, j := &o.root, r.journal
	var head Op
	keep := o.slots[:0]
	for i := range o.slots {
		s := &o.slots[i]
		if s.op <= j.floor {
			continue // executed: the checkpoint holds it
		}
		if s.decision != slotUnknown && s.op > root.Head && s.header.View != root.LogView {
			// Above the installed head, only ops appended in LogView (of that view) are the
			// log's. One of an older view was truncated when LogView was installed: a prepare
			// left behind. One of a later view came from a view this replica joined in memory
			// only (its root never said so), never acknowledged: kept, a backup acked an op
			// of view 30 as a normal backup of view 26 (seed 983455).
			o.stats.discarded++
			continue
		}
		keep = append(keep, *s)
		if s.decision != slotUnknown {
			head = max(head, s.op)
		}
	}
	o.slots = keep
	if r.config.Replicas == 1 {
		head = soloHead(o.slots, j.floor, head, root.Commit)
	}
	// The root's window names the installed log's last headers: the log reaches root.Head
	// whatever the disk holds of it (a start_view's headers whose prepares were still being
	// repaired), an op of the window whose slot reads back blank was never written, never
	// acknowledged (a nack, not an abstention), and a slot holding another prepare than the
	// window's holds one the install replaced (seed 104 executed such a stale op as its log
	// view's). Every root of a head above 0 has one (decodeRoot).
	window := root.window()
	assert(root.Head == 0 || len(window) > 0)
	covered := func(op Op) bool { return len(window) > 0 && op >= window[0].Op && op <= root.Head }
	head = max(head, root.Head, j.floor)
	for i := range o.slots {
		s := &o.slots[i]
		if s.decision == slotDamaged && r.bug(BugCorruptAsTorn) {
			continue // taken for a torn write: the op is gone, as if never acknowledged
		}
		if s.decision == slotUnknown && s.op > head {
			// Above every op the disk holds: torn at the head. A crash tears the writes in
			// flight, the prepare of an op not yet acknowledged and the header sector
			// being written; an op acknowledged from this disk had its prepare and its
			// header read back intact, and for it to be lost here both would have to be
			// damaged since, on the highest op it held. Not so below the head the root's
			// window names: such an op was written there, maybe acknowledged long ago, and
			// its header (a sector rewritten for its neighbours) and prepare both damaged
			// since (seed 191 nacked a committed op so).
			o.stats.torn++
			continue
		}
		if s.decision == slotDamaged || s.decision == slotUnknown {
			o.stats.uncertainAt = max(o.stats.uncertainAt, s.op)
			// A cluster of one has no one to repair from, and no atlas faults: what its
			// disk lost, a crash tore before it was acknowledged.
			near := head < Op(r.config.PipelineMax) || s.op >= head-Op(r.config.PipelineMax)
			if near && !covered(s.op) && r.config.Replicas > 1 {
				r.headUncertain = true
			}
		}
		if s.op > head {
			continue
		}
		if s.decision == slotUnknown {
			j.grow(s.op)
			j.entry(s.op).junkKept = true // the proof it may have been acknowledged stays
			continue
		}
		j.set(&s.header, s.message)
		e := j.entry(s.op)
		e.prepareDurable = s.decision == slotIntact || s.decision == slotPrepareOnly
		e.headerKept = s.decision == slotDamaged
		e.headerDurable = s.decision == slotIntact
	}
	for k := range window {
		h := &window[k]
		if h.Op <= j.floor {
			// Below the checkpoint: not the log's. At it: the checkpoint's op, committed.
			assert(h.Op < j.floor || h.Checksum == j.header(j.floor).Checksum)
			continue
		}
		j.grow(h.Op)
		if j.entry(h.Op).header.Checksum != h.Checksum {
			j.set(h, nil) // the installed header, its prepare to be repaired
		}
	}
	r.recovery.recoveredOp = max(o.stats.uncertainAt, root.Recovered)
	j.op = head
	if head > 0 {
		if !j.known(head) {
			panic(fmt.Sprintf("core: replica %d restarts with head %d unknown", r.index, head))
		}
		j.chainFrom = head
		j.extendChain(r.commitMin)
	}
	r.openSectors(o)
	assert(j.op == head && j.known(j.op) && j.chainFrom <= j.op)
}

// soloHead is where the log of a cluster of one ends after a restart: below the lowest op
// up to head that the disk does not hold intact. Such a replica has no atlas faults (the
// atlas lets quorum-1 = 0 replicas suffer them) and no one to repair from: an op missing or
// damaged was torn by a crash in flight, and every op above it was written concurrently
// and never committed (an op commits only once it and every op below are durable). So the
// log is cut there, as a torn head is; an op known committed below it would be a lost
// write, and fails here.
func soloHead(slots []openSlot, floor, head, commit Op) Op {
	// The checkpoint holds every op up to the floor: the log reaches it whatever the slots.
	head = max(head, floor)
	held := make(map[Op]bool, len(slots))
	for i := range slots {
		if slots[i].decision == slotIntact || slots[i].decision == slotPrepareOnly {
			held[slots[i].op] = true
		}
	}
	for op := floor + 1; op <= head; op++ {
		if !held[op] {
			if op <= commit {
				panic(fmt.Sprintf("core: a cluster of one lost op %d, committed up to %d", op, commit))
			}
			return op - 1
		}
	}
	assert(head >= commit)
	return head
}

// openSectors tells the write path what each header sector holds as read, so that it
// writes only the sectors whose entries differ from the journal's (and every sector that
// held junk).
//
// Sectors above the head's hold no entry of the log (every op the disk holds is at or
// below the head): those read back non-blank (rot or a misdirected write on sectors the log
// never reached, headers of ops torn above the head) are blanked, untracked, so that junk
// does not pile up across restarts. Left, it did: every start-up reads the prepare slot of
// every non-blank entry, and a seed's replica spent 20,000 ticks opening 16,000 of them
// (seed 1, whole-cluster crashes on). Tracking them cost a headerSector each up to the
// highest (a swarm seed's restarts allocated gigabytes, and its memory passed its bar).
func (r *Replica) openSectors(o *opening) {
	d := &r.disk
	sectors := uint64(r.config.journalSlots()) / headersPerSector
	assert(len(d.sectors) == 0)
	d.sectors = make([]headerSector, sectors)
	for s := range d.sectors {
		// The ring's window above the root's checkpoint: what each slot was read for.
		for k := range d.sectors[s].ops {
			d.sectors[s].ops[k] = r.config.ringOp(o.root.Checkpoint.ID.Op, uint64(s)*headersPerSector+uint64(k))
		}
	}
	for i := range o.sectors {
		s := &o.sectors[i]
		assert(s.sector < sectors)
		d.sectors[s.sector].issued = s.valid
		d.sectors[s.sector].rewrite = s.junk
	}
	// Junk (rot or a misdirected write, headers of ops torn above the head) is written
	// over at once with what the slots should hold, empty entries above the log: left, it
	// would be read at every start-up (every non-blank entry costs a prepare read).
	for i := range o.sectors {
		if o.sectors[i].junk {
			r.writeHeaders(o.sectors[i].sector)
		}
	}
	assert(uint64(len(d.sectors)) == sectors)
}

// headRepaired reports whether repair has made an uncertain head certain again, and clears
// it if so: the log reaches the head the root installed, and every op of the window a
// do_view_change describes is held on the chain from the head. The replica may then vote:
// what it may have acknowledged and lost is back. (Without this, a view change that needs
// the vote of a replica whose head is uncertain would never finish: a start_view clearing
// it needs the view change first.)
func (r *Replica) headRepaired() bool {
	assert(r.headUncertain && r.status == StatusViewChange)
	j := r.journal
	// The log reaches the installed head: the root's window put it there (openLog), and
	// only an install moves the head below it again, clearing headUncertain first.
	assert(j.op >= r.headInstalled)
	if j.chainFrom > j.op {
		return false
	}
	window := Op(r.config.PipelineMax)
	// Executed ops count as held (the floor's prepare is not: the checkpoint holds it).
	for op := j.op; op > r.commitMin && op+window >= j.op; op-- {
		if !j.trusted(op) || j.message(op) == nil {
			return false
		}
	}
	r.headUncertain = false
	return true
}

// repairHead asks the other replicas for what an uncertain head lacks (headRepaired): the
// prepares of the window it holds only headers of, and the headers below where trust from
// the head stops. Any replica may answer: the chain from the head checks what comes back.
func (r *Replica) repairHead() {
	assert(r.headUncertain && r.status == StatusViewChange)
	assert(r.config.Replicas > 1) // a cluster of one never changes views
	j := r.journal
	window := Op(r.config.PipelineMax)
	assert(j.op >= r.headInstalled) // headRepaired
	if low := max(j.op-min(j.op, window), j.floor+1); j.chainFrom > low {
		// Trust from the head does not reach down the window yet: the headers below it.
		m := RequestHeaders{Replica: r.index, View: r.view, OpMin: low, OpMax: j.chainFrom - 1}
		assert(m.OpMax-m.OpMin < HeadersMax)
		r.bus.SendToReplica(r.randomOther(), r.enc.RequestHeaders(&m))
	}
	budget := r.config.RepairMax
	for op := j.op; op > r.commitMin && op+window >= j.op && budget > 0; op-- {
		if !j.trusted(op) || j.message(op) != nil {
			continue
		}
		r.sendRequestPrepare(r.randomOther(), op, j.header(op).Checksum)
		budget--
	}
}
