package core

import "fmt"

// State transfer: a replica whose next op to execute no peer still holds (they restored
// from a checkpoint above it, after a restart or a state transfer of their own), or whose
// checkpoint could not be read back at a restart (stateMissing), fetches a peer's durable
// checkpoint and installs it (VRR §5.2's state transfer, with TigerBeetle's checkpoints).
//
//  1. Every ping says what its sender can send: the op of its durable checkpoint, and the
//     lowest op whose prepare it holds (Ping.Checkpoint, Ping.Oldest).
//  2. A normal replica that has committed ops to execute, and whose next one no peer heard
//     from holds, picks the highest checkpoint a peer offers within what it knows is
//     committed, and asks for its manifest (RequestCheckpoint with no identity): the
//     checkpoint's identity, the header of its op, and its chunks' checksums, which the
//     decoder checks make up the identity.
//  3. It asks for the chunks, RepairMax at a time per repair round, from the peers that
//     offer that checkpoint. Each chunk is checked against its checksum in the manifest
//     (no message ever carries more than a chunk: the state never travels whole).
//  4. With every chunk in, it installs the checkpoint (installCheckpoint): the state
//     machine and the client table from its bytes, the log's floor at its op, which counts
//     as executed. Then it writes the checkpoint to its own disk (checkpoint.go) and
//     repairs and executes the log above it as any lagging replica does.
//
// Nothing of this touches what the replica acknowledges or votes: it acknowledges only
// prepares it holds durably, and installs only while normal in its view (whose log holds
// the checkpoint's op, committed) a checkpoint within what it knows committed.

// peerOffer is what a peer's last ping said it can send.
type peerOffer struct {
	checkpoint Op // the op of its durable checkpoint, 0 for none
	oldest     Op // the lowest op whose prepare it holds
	heard      bool
	at         uint64 // the tick it was heard at
}

// syncStallRounds is how many repair rounds a replica waits for its next op to execute,
// with a checkpoint above it on offer, before it transfers the checkpoint even though a
// peer said it holds the op: that peer may not answer (cut off one way, changing views,
// crashed since its last ping).
const syncStallRounds = 16

// syncState is a state transfer in progress.
type syncState struct {
	target  Op            // the checkpoint's op; 0: no state transfer
	id      CheckpointID  // from the manifest; Op 0 until it arrived
	header  PrepareHeader // of the checkpoint's op
	sums    []Checksum
	data    []byte
	missing []bool
	left    int // chunks missing
	next    int // the next chunk to ask for, round-robin over the missing ones
	// stalled counts the repair rounds in which the executed op did not move while
	// committed ops waited; stalledAt is the executed op they counted at.
	stalled   int
	stalledAt Op
}

// offers returns what the replica itself can send: its durable checkpoint's op (if it
// holds the bytes) and the lowest op whose prepare it holds.
func (r *Replica) offers() (checkpoint, oldest Op) {
	if c := &r.checkpoint; c.served.ID.Op > 0 {
		assert(uint64(len(c.servedData)) == c.served.ID.Size)
		checkpoint = c.served.ID.Op
	}
	oldest = r.journal.oldest()
	assert(oldest >= 1 && oldest <= r.journal.floor+1)
	return checkpoint, oldest
}

// notePeer records what a peer's ping offers.
func (r *Replica) notePeer(m *Ping) {
	assert(m.Replica != r.index && int(m.Replica) < len(r.peers))
	r.peers[m.Replica] = peerOffer{checkpoint: m.Checkpoint, oldest: m.Oldest, heard: true, at: r.ticks}
}

// syncNeeded reports the checkpoint op to transfer, if the replica needs one: one a peer
// offers above its executed op (at it, when its state is missing) and within its commit,
// when no peer heard from holds its next op to execute.
func (r *Replica) syncNeeded() (Op, bool) {
	if r.status != StatusNormal || r.logView != r.view {
		return 0, false
	}
	if !r.stateMissing && (r.commitMin >= r.commitMax ||
		r.journal.trusted(r.commitMin+1) && r.journal.message(r.commitMin+1) != nil) {
		return 0, false // nothing to execute, or the next op is at hand (on the chain, held)
	}
	next := r.commitMin + 1
	var best Op
	held := false
	for i := range r.peers {
		p := &r.peers[i]
		if ReplicaIndex(i) == r.index || !p.heard {
			continue
		}
		if p.oldest <= next {
			held = true // a peer holds it: repair brings it, unless the repair stalls
		}
		if p.checkpoint <= r.commitMax && (p.checkpoint > r.commitMin || r.stateMissing && p.checkpoint >= r.commitMin) {
			best = max(best, p.checkpoint)
		}
	}
	if held && !r.stateMissing && r.sync.stalled < syncStallRounds {
		return 0, false
	}
	// Only a committed checkpoint above what is executed (at it, when the state is missing).
	assert(best == 0 || best <= r.commitMax && (best > r.commitMin || r.stateMissing))
	return best, best > 0
}

// syncRepair starts, restarts or continues a state transfer: called each repair round.
func (r *Replica) syncRepair() {
	s := &r.sync
	if r.commitMin == s.stalledAt && r.commitMin < r.commitMax {
		s.stalled++
	} else {
		s.stalled, s.stalledAt = 0, r.commitMin
	}
	target, needed := r.syncNeeded()
	if !needed {
		if s.target != 0 && !r.stateMissing && r.commitMin >= s.target {
			s.stop() // caught up otherwise
		}
		if s.target == 0 {
			return
		}
	}
	if needed && target > s.target {
		// A newer checkpoint than the one being fetched (peers moved on): fetch it instead.
		s.stop()
		s.target = target
	}
	assert(s.target > 0)
	offering := r.offering(s.target)
	if len(offering) == 0 {
		s.stop() // nobody offers it any more: a later round picks another
		return
	}
	if s.id.Op == 0 {
		m := RequestCheckpoint{Replica: r.index, View: r.view, Op: s.target}
		r.bus.SendToReplica(offering[r.rand.Int(len(offering))], r.enc.RequestCheckpoint(&m))
		return
	}
	assert(s.left > 0 && len(s.missing) == len(s.sums))
	for budget := r.config.RepairMax; budget > 0; budget-- {
		for !s.missing[s.next] {
			s.next = (s.next + 1) % len(s.missing)
		}
		m := RequestCheckpoint{Replica: r.index, View: r.view, Op: s.id.Op, Checksum: s.id.Checksum,
			Chunk: uint32(s.next)}
		r.bus.SendToReplica(offering[r.rand.Int(len(offering))], r.enc.RequestCheckpoint(&m))
		s.next = (s.next + 1) % len(s.missing)
		if s.left == 1 {
			break
		}
	}
}

// stop ends the state transfer in progress, keeping the count of stalled rounds.
func (s *syncState) stop() {
	*s = syncState{stalled: s.stalled, stalledAt: s.stalledAt}
	assert(s.target == 0 && s.id.Op == 0)
}

// offering lists the peers whose last ping offered the checkpoint of op.
func (r *Replica) offering(op Op) []ReplicaIndex {
	assert(op > 0)
	var peers []ReplicaIndex
	for i := range r.peers {
		if ReplicaIndex(i) != r.index && r.peers[i].heard && r.peers[i].checkpoint == op {
			peers = append(peers, ReplicaIndex(i))
		}
	}
	assert(len(peers) < r.config.Replicas) // never itself
	return peers
}

// onRequestCheckpoint sends the manifest or a chunk of the durable checkpoint, if it is
// the one asked for.
func (r *Replica) onRequestCheckpoint(m *RequestCheckpoint) {
	c := &r.checkpoint
	if r.status == StatusRecovering || m.Replica == r.index || c.served.ID.Op != m.Op ||
		!m.Checksum.IsZero() && m.Checksum != c.served.ID.Checksum || int(m.Chunk) >= len(c.servedSums) {
		r.drop()
		return
	}
	assert(uint64(len(c.servedData)) == c.served.ID.Size && checksumOfSums(c.servedSums) == c.served.ID.Checksum)
	if m.Checksum.IsZero() {
		reply := CheckpointManifest{Replica: r.index, View: r.view, ID: c.served.ID, Header: c.served.Header,
			Sums: c.servedSums}
		r.bus.SendToReplica(m.Replica, r.enc.CheckpointManifest(&reply))
		return
	}
	size := r.config.checkpointChunk()
	from := uint64(m.Chunk) * size
	body := c.servedData[from:min(from+size, uint64(len(c.servedData)))]
	assert(checksumOf(body) == c.servedSums[m.Chunk])
	reply := CheckpointChunk{Replica: r.index, View: r.view, ID: c.served.ID, Chunk: m.Chunk, Body: body}
	r.bus.SendToReplica(m.Replica, r.enc.CheckpointChunk(&reply))
}

// onCheckpointManifest takes the manifest of the checkpoint being fetched.
func (r *Replica) onCheckpointManifest(m *CheckpointManifest) {
	s := &r.sync
	if s.target == 0 || m.ID.Op != s.target || s.id.Op != 0 || m.Replica == r.index {
		r.drop()
		return
	}
	// The decoder's checks, on this side: the sums make up the identity, the header is of
	// the checkpoint's op.
	assert(checksumOfSums(m.Sums) == m.ID.Checksum && m.Header.Op == m.ID.Op)
	chunk := r.config.checkpointChunk()
	if uint64(len(m.Sums)) != (m.ID.Size+chunk-1)/chunk || m.ID.Size > r.config.checkpointSizeMax() {
		r.drop() // not a checkpoint of this cluster's config
		return
	}
	s.id, s.header = m.ID, m.Header
	s.sums = append([]Checksum(nil), m.Sums...)
	s.data = make([]byte, m.ID.Size)
	s.missing = make([]bool, len(s.sums))
	for i := range s.missing {
		s.missing[i] = true
	}
	s.left, s.next = len(s.sums), 0
}

// onCheckpointChunk takes a chunk of the checkpoint being fetched, if it verifies, and
// installs the checkpoint once every chunk is in.
func (r *Replica) onCheckpointChunk(m *CheckpointChunk) {
	s := &r.sync
	if s.id.Op == 0 || m.ID != s.id || m.Replica == r.index || int(m.Chunk) >= len(s.missing) ||
		!s.missing[m.Chunk] {
		r.drop()
		return
	}
	size := r.config.checkpointChunk()
	from := uint64(m.Chunk) * size
	part := min(size, s.id.Size-from)
	if uint64(len(m.Body)) != part || checksumOf(m.Body) != s.sums[m.Chunk] {
		r.drop() // not the chunk the manifest names
		return
	}
	copy(s.data[from:from+part], m.Body)
	s.missing[m.Chunk] = false
	s.left--
	assert(s.left >= 0)
	if s.left > 0 {
		return
	}
	// Every chunk verified against the manifest, the manifest against the identity.
	assert(checksumOfSums(s.sums) == s.id.Checksum)
	if r.status != StatusNormal || r.logView != r.view || s.id.Op > r.commitMax ||
		s.id.Op <= r.commitMin && !(r.stateMissing && s.id.Op == r.commitMin) {
		s.stop() // no longer installable here: a later round starts again if need be
		return
	}
	ref := checkpointRef{ID: s.id, Header: s.header}
	data, sums := s.data, s.sums
	s.stop()
	r.installCheckpoint(ref, data, sums)
	r.stats.StateTransfers++
	r.executeCommitted()
}

// installCheckpoint replaces the state with a checkpoint's (verified) bytes: the state
// machine, the client table, and the log's floor at its op, now executed. The replica
// then writes it to its own disk, to restart from it.
func (r *Replica) installCheckpoint(ref checkpointRef, data []byte, sums []Checksum) {
	assert(r.status == StatusNormal && r.logView == r.view)
	assert(ref.ID.Op <= r.commitMax && (ref.ID.Op > r.commitMin || r.stateMissing && ref.ID.Op == r.commitMin))
	previous := r.commitMin
	r.restoreState(ref, data, sums)
	if ref.ID.Op > r.journal.floor {
		r.journal.setFloor(&ref.Header, previous)
	}
	r.commitMin, r.restoredAt = ref.ID.Op, ref.ID.Op
	r.stats.Committed = 0
	if r.isPrimary() {
		r.primary.settleRestored(r.clients)
	}
	c := &r.checkpoint
	if c.writing.ID.Op == 0 {
		r.writeCheckpoint(ref, data, sums)
	} else {
		c.next, c.nextData, c.nextSums = ref, data, sums
	}
	assert(r.commitMin == r.journal.floor && r.journal.known(r.commitMin))
}

// restoreState sets the state machine and the client table from a checkpoint's bytes,
// whose identity was verified, and serves the checkpoint from then on.
func (r *Replica) restoreState(ref checkpointRef, data []byte, sums []Checksum) {
	ref.check()
	table, state, err := decodeCheckpoint(data, r.config.Cluster, &ref.Header)
	if err != nil {
		panic(fmt.Sprintf("core: replica %d: checkpoint of op %d: %v", r.index, ref.ID.Op, err))
	}
	clients, err := decodeClientTable(table, r.config.ClientTableMax)
	if err != nil {
		panic(fmt.Sprintf("core: replica %d: checkpoint of op %d: %v", r.index, ref.ID.Op, err))
	}
	if err := r.sm.Restore(state); err != nil {
		panic(fmt.Sprintf("core: replica %d: checkpoint of op %d: state machine: %v", r.index, ref.ID.Op, err))
	}
	r.clients = clients
	r.stateMissing = false
	r.stats.RequestsExecuted = 0
	r.serve(ref, data, sums)
	// The state is the checkpoint's now, and served to peers from here.
	assert(r.checkpoint.served.ID.Op >= ref.ID.Op && !r.stateMissing)
}

// serve keeps a durable (or installed) checkpoint's bytes to send to peers.
func (r *Replica) serve(ref checkpointRef, data []byte, sums []Checksum) {
	c := &r.checkpoint
	assert(uint64(len(data)) == ref.ID.Size)
	if ref.ID.Op < c.served.ID.Op {
		return
	}
	r.checkSums(&ref, sums)
	c.served, c.servedData, c.servedSums = ref, data, sums
}

// settleRestored forgets the requests in flight that a restored client table shows ran:
// their ops were executed by the checkpoint, not here, and their clients' retries are
// answered from the table.
func (p *primaryState) settleRestored(clients *clientTable) {
	assert(p.inflight != nil && clients != nil) // a normal primary's
	// map order: each entry is decided on its own.
	for client, last := range p.inflight {
		if e := clients.get(client); e == nil || e.session != last.session || e.request >= last.request {
			delete(p.inflight, client)
		}
	}
}

// commitLearned takes, at a normal primary, an op a peer executed (its checkpoint's) as
// committed, with every op below it: the primary may not have known (a view change that
// completed without that peer), and the peer, restored from the checkpoint, holds the ops
// up to it no more and cannot acknowledge them. Without this a cluster of two whose backup
// restarted from a checkpoint above the primary's commit waited forever (seed 54,
// whole-cluster crashes on).
func (r *Replica) commitLearned(op Op, checksum Checksum) {
	j, p := r.journal, &r.primary
	if r.status != StatusNormal || !r.isPrimary() || op <= r.commitMax || op > j.op {
		return
	}
	// The view's log holds every op committed in this view or before (the caller passes
	// only checkpoints of peers in this view or an older one): the peer executed this one.
	if !j.trusted(op) || j.header(op).Checksum != checksum {
		panic(fmt.Sprintf("core: replica %d: a peer executed op %d as %v, the view's log holds it otherwise",
			r.index, op, checksum))
	}
	assert(j.op-r.commitMax == Op(len(p.pipeline)))
	n := int(op - r.commitMax)
	for _, e := range p.pipeline[:n] {
		assert(j.held(e.op, e.checksum)) // the primary holds its whole pipeline
	}
	p.pipeline = append(p.pipeline[:0], p.pipeline[n:]...)
	r.commitMax = op
	assert(j.op-r.commitMax == Op(len(p.pipeline)))
	r.executeCommitted()
	r.prepareQueued()
}

// StateMissing reports whether the replica restarted without its state: its checkpoint
// could not be read back, and it waits for a state transfer before it executes again.
func (r *Replica) StateMissing() bool { return r.stateMissing }

// RestoredAt is the op the replica's state was last restored at (a restart from its
// checkpoint, a state transfer), 0 if never: RequestsExecuted counts from there.
func (r *Replica) RestoredAt() Op { return r.restoredAt }

// ExecutedFrom is the lowest op whose header the replica still holds as executed: the
// floor of its log.
func (r *Replica) ExecutedFrom() Op { return r.journal.floor }
