package core

import (
	"encoding/binary"
	"fmt"
)

// Checkpoints: every CheckpointOps ops, a replica writes its state (the client table and
// the state machine's snapshot) to ZoneCheckpoint, then a root that names it. Every replica
// executes the same ops, so checkpoints taken at the same op are byte-identical across the
// cluster (the simulator compares their identities).
//
// The bytes are laid out in chunks of checkpointChunkSectors, each written, read back and
// compared before it counts (a misdirected write completes as if it landed); once every
// chunk is on disk the root is written to name the checkpoint, and only then is it durable.
// The root names one of two areas; the next checkpoint goes to the other, so a crash while
// it is written leaves the durable one whole. A checkpoint taken while the one before is
// still being written waits in memory (only the latest waits: one skipped is no loss, the
// next is as good).
//
// A checkpoint's identity (CheckpointID) is its op, its size and the checksum of its
// chunks' checksums: a chunk read back, or received from a peer, is verified on its own
// against the list of chunk checksums, and the list against the identity.

// CheckpointID names a checkpoint.
type CheckpointID struct {
	Op       Op
	Size     uint64   // bytes
	Checksum Checksum // of the chunks' checksums, in order
}

// checkpointRef is a checkpoint as the root names it: its identity, where it lies, and the
// header of its op, the anchor of the log above it.
type checkpointRef struct {
	ID     CheckpointID
	Area   int           // 0 or 1, of ZoneCheckpoint
	Header PrepareHeader // of op ID.Op; zero for op 0
}

// check asserts what every checkpoint reference holds.
func (c *checkpointRef) check() {
	if c.ID.Op == 0 {
		// None: the empty state at the root prepare.
		assert(c.ID == CheckpointID{} && c.Area == 0)
		assert(c.Header == PrepareHeader{})
		return
	}
	assert(c.ID.Size >= checkpointHeadSize && !c.ID.Checksum.IsZero())
	assert(c.Area == 0 || c.Area == 1)
	assert(c.Header.Op == c.ID.Op && !c.Header.Checksum.IsZero())
}

// Defaults of Config's checkpoint settings.
const (
	CheckpointOpsDefault  = 256
	CheckpointSizeDefault = 64 << 20
)

func (c *Config) checkpointOps() Op {
	if c.CheckpointOps == 0 {
		return CheckpointOpsDefault
	}
	assert(c.CheckpointOps > 0)
	return Op(c.CheckpointOps)
}

func (c *Config) checkpointSizeMax() uint64 {
	if c.CheckpointSizeMax == 0 {
		return CheckpointSizeDefault
	}
	return c.CheckpointSizeMax
}

// checkpointChunkSectors is the sectors of one chunk: as many as fit a message's body, so
// that a state transfer sends a chunk a message.
func (c *Config) checkpointChunkSectors() uint64 {
	sectors := uint64(c.MessageSizeMax-HeaderSize) / SectorSize
	// The smallest message a config allows still carries two sectors.
	assert(sectors >= 2)
	return sectors
}

// checkpointChunk is a chunk's size in bytes.
func (c *Config) checkpointChunk() uint64 { return c.checkpointChunkSectors() * SectorSize }

// checkpointManifestSize is the size of the manifest of the largest checkpoint: a header,
// the checkpoint's op's header, and a checksum per chunk.
func (c *Config) checkpointManifestSize() int {
	chunk := c.checkpointChunk()
	return 2*HeaderSize + 16*int((c.checkpointSizeMax()+chunk-1)/chunk)
}

// checkpointAreaSectors is the sectors of one area: CheckpointSizeMax in whole chunks.
func (c *Config) checkpointAreaSectors() uint64 {
	chunk := c.checkpointChunk()
	chunks := max(1, (c.checkpointSizeMax()+chunk-1)/chunk)
	return chunks * c.checkpointChunkSectors()
}

// The bytes of a checkpoint: a head, then the client table, then the state machine's
// snapshot. The head ties them to the cluster and to the op and prepare they follow.
const (
	checkpointMagic     = 0x746e696f706b6843 // "Chkpoint"
	checkpointMagicAt   = 0
	checkpointClusterAt = 8
	checkpointOpAt      = 16
	checkpointPrepareAt = 24 // the checksum of the op's prepare, 16 bytes
	checkpointClientsAt = 40 // the client table's bytes
	checkpointStateAt   = 48 // the state machine's bytes
	checkpointTimeAt    = 56 // the cluster's time at the op (its prepare's timestamp)
	checkpointHeadSize  = 64
)

// clientEntrySize is one client table slot in a checkpoint, before its output.
const clientEntrySize = 8 + 8 + 8 + 8 + 4 + 4

// encodeCheckpoint lays out the state after executing the op of header h.
// time is the cluster's time at the op: h.Timestamp.
func encodeCheckpoint(cluster uint64, h *PrepareHeader, time uint64, clients *clientTable, sm StateMachine) []byte {
	assert(h.Op > 0 && !h.Checksum.IsZero())
	state := sm.Snapshot()
	table := clients.encode(nil)
	out := make([]byte, checkpointHeadSize, checkpointHeadSize+len(table)+len(state))
	le := binary.LittleEndian
	le.PutUint64(out[checkpointMagicAt:], checkpointMagic)
	le.PutUint64(out[checkpointClusterAt:], cluster)
	le.PutUint64(out[checkpointOpAt:], uint64(h.Op))
	h.Checksum.put(out[checkpointPrepareAt:])
	le.PutUint64(out[checkpointClientsAt:], uint64(len(table)))
	le.PutUint64(out[checkpointStateAt:], uint64(len(state)))
	le.PutUint64(out[checkpointTimeAt:], time)
	out = append(append(out, table...), state...)
	assert(len(out) == checkpointHeadSize+len(table)+len(state))
	return out
}

// decodeCheckpoint checks the head of a checkpoint's bytes against what the root or the
// peer said of it, and returns the client table's and the state's bytes.
func decodeCheckpoint(b []byte, cluster uint64, h *PrepareHeader) (table, state []byte, err error) {
	assert(h.Op > 0)
	if len(b) < checkpointHeadSize {
		return nil, nil, fmt.Errorf("checkpoint of %d bytes", len(b))
	}
	le := binary.LittleEndian
	if le.Uint64(b[checkpointMagicAt:]) != checkpointMagic || le.Uint64(b[checkpointClusterAt:]) != cluster ||
		Op(le.Uint64(b[checkpointOpAt:])) != h.Op || getChecksum(b[checkpointPrepareAt:]) != h.Checksum {
		return nil, nil, fmt.Errorf("checkpoint head is not of op %d of this cluster", h.Op)
	}
	tableSize, stateSize := le.Uint64(b[checkpointClientsAt:]), le.Uint64(b[checkpointStateAt:])
	if tableSize > uint64(len(b)) || stateSize != uint64(len(b))-checkpointHeadSize-tableSize {
		return nil, nil, fmt.Errorf("checkpoint sizes %d and %d in %d bytes", tableSize, stateSize, len(b))
	}
	table = b[checkpointHeadSize : checkpointHeadSize+tableSize]
	return table, b[checkpointHeadSize+tableSize:], nil
}

// checkpointSums returns the checksum of each chunk of a checkpoint's bytes, and the
// checksum of the list: the checkpoint's identity.
func checkpointSums(b []byte, chunk uint64) ([]Checksum, Checksum) {
	assert(chunk > 0 && chunk%SectorSize == 0 && len(b) > 0)
	sums := make([]Checksum, 0, (uint64(len(b))+chunk-1)/chunk)
	for at := uint64(0); at < uint64(len(b)); at += chunk {
		sums = append(sums, checksumOf(b[at:min(at+chunk, uint64(len(b)))]))
	}
	// One checksum a chunk, the last one partial: what a manifest lists and a restart reads.
	assert(uint64(len(sums)) == (uint64(len(b))+chunk-1)/chunk)
	sum := checksumOfSums(sums)
	assert(!sum.IsZero())
	return sums, sum
}

// checksumOfSums is the checksum of a list of checksums.
func checksumOfSums(sums []Checksum) Checksum {
	assert(len(sums) > 0) // a checkpoint has a head, so a chunk at least
	list := make([]byte, 16*len(sums))
	for i := range sums {
		sums[i].put(list[16*i:])
	}
	return checksumOf(list)
}

// encode lays out the client table, every slot in order, free ones zero.
func (t *clientTable) encode(out []byte) []byte {
	assert(len(t.entries) == t.max && len(t.byClient) <= t.max)
	start := len(out)
	le := binary.LittleEndian
	for i := range t.entries {
		e := &t.entries[i]
		assert(e.session != 0 || (e.client == 0 && len(e.output) == 0))
		var b [clientEntrySize]byte
		le.PutUint64(b[0:], uint64(e.client))
		le.PutUint64(b[8:], uint64(e.session))
		le.PutUint64(b[16:], uint64(e.request))
		le.PutUint64(b[24:], uint64(e.commit))
		le.PutUint32(b[32:], e.index)
		le.PutUint32(b[36:], uint32(len(e.output)))
		out = append(append(out, b[:]...), e.output...)
	}
	assert(len(out)-start >= t.max*clientEntrySize) // every slot, free ones too
	return out
}

// decodeClientTable rebuilds a client table of max slots from its bytes.
func decodeClientTable(b []byte, max int) (*clientTable, error) {
	t := newClientTable(max)
	le := binary.LittleEndian
	for slot := range t.entries {
		if len(b) < clientEntrySize {
			return nil, fmt.Errorf("client table cut at slot %d", slot)
		}
		e := clientEntry{client: ClientID(le.Uint64(b[0:])), session: Session(le.Uint64(b[8:])),
			request: RequestNumber(le.Uint64(b[16:])), commit: Op(le.Uint64(b[24:])), index: le.Uint32(b[32:])}
		size := uint64(le.Uint32(b[36:]))
		b = b[clientEntrySize:]
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("client table slot %d: output of %d bytes", slot, size)
		}
		if size > 0 {
			e.output = append([]byte(nil), b[:size]...)
		}
		b = b[size:]
		if e.session == 0 {
			if e.client != 0 || size != 0 || e.request != 0 || e.commit != 0 {
				return nil, fmt.Errorf("client table slot %d: free, and not empty", slot)
			}
			continue
		}
		if _, twice := t.byClient[e.client]; twice || e.client == 0 || uint64(e.session) > uint64(e.commit) {
			return nil, fmt.Errorf("client table slot %d: client %d, session %d at op %d", slot, e.client,
				e.session, e.commit)
		}
		t.entries[slot] = e
		t.byClient[e.client] = slot
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("client table with %d bytes left over", len(b))
	}
	assert(len(t.byClient) <= t.max && len(t.entries) == max)
	return t, nil
}

// checkpointState is a replica's side of its checkpoints: the one being written and the
// one waiting for it. The durable one is the root's (rootState.Checkpoint).
type checkpointState struct {
	// served: the durable (or installed) checkpoint the replica sends peers (sync.go),
	// with its bytes and its chunks' checksums.
	served     checkpointRef
	servedData []byte
	servedSums []Checksum

	writing  checkpointRef // ID.Op 0: none
	data     []byte        // its bytes
	sums     []Checksum    // each chunk's checksum
	pending  []bool        // by chunk: not yet read back intact
	left     int           // chunks pending
	inflight int           // chunk IOs in flight
	// next: a checkpoint taken while writing was in flight, to be written after it.
	next     checkpointRef
	nextData []byte
	nextSums []Checksum
}

// ready reports whether the checkpoint being written is whole on disk: the root may name it.
func (c *checkpointState) ready() bool {
	assert(c.left >= 0 && c.left <= len(c.pending))
	return c.writing.ID.Op > 0 && c.left == 0
}

// checkpointDue takes a checkpoint after op executed, when op is a checkpoint's.
func (r *Replica) checkpointDue(op Op) {
	assert(op == r.commitMin && op > 0)
	c := &r.checkpoint
	if op%r.config.checkpointOps() != 0 || op <= r.root.Checkpoint.ID.Op || op <= c.writing.ID.Op ||
		op <= c.next.ID.Op {
		return // not a checkpoint's op, or one this replica has (a restart executes again)
	}
	h := r.journal.header(op)
	time := h.Timestamp
	if r.bug(BugCheckpointLocal) {
		time = uint64(r.clock.Realtime()) // when this replica took it: its own clock
	}
	clients := r.clients
	if r.bug(BugCheckpointWithoutClients) {
		clients = newClientTable(r.config.ClientTableMax) // the state machine's state alone
	}
	data := encodeCheckpoint(r.config.Cluster, h, time, clients, r.sm)
	if uint64(len(data)) > r.config.checkpointSizeMax() {
		panic(fmt.Sprintf("core: replica %d: checkpoint of op %d is %d bytes, over the bound of %d",
			r.index, op, len(data), r.config.checkpointSizeMax()))
	}
	sums, sum := checkpointSums(data, r.config.checkpointChunk())
	ref := checkpointRef{ID: CheckpointID{Op: op, Size: uint64(len(data)), Checksum: sum}, Header: *h}
	if c.writing.ID.Op > 0 {
		c.next, c.nextData, c.nextSums = ref, data, sums // the one waiting before it, if any, is skipped
		return
	}
	r.writeCheckpoint(ref, data, sums)
}

// checkSums asserts that sums are the chunks' checksums of a checkpoint of ref's identity
// (computed once, where the bytes were made or verified: checksums of 100 MiB cost).
func (r *Replica) checkSums(ref *checkpointRef, sums []Checksum) {
	chunk := r.config.checkpointChunk()
	assert(uint64(len(sums)) == (ref.ID.Size+chunk-1)/chunk)
	assert(checksumOfSums(sums) == ref.ID.Checksum)
}

// writeCheckpoint starts writing a checkpoint to the area the root does not name.
func (r *Replica) writeCheckpoint(ref checkpointRef, data []byte, sums []Checksum) {
	c := &r.checkpoint
	assert(c.writing.ID.Op == 0 && c.inflight == 0)
	// A newer checkpoint, or the durable one again (read back lost at a restart, and
	// transferred from a peer): to the other area, which the root then names.
	assert(ref.ID.Op >= r.root.Checkpoint.ID.Op && ref.ID.Size == uint64(len(data)))
	ref.Area = 1 - r.root.Checkpoint.Area
	if r.root.Checkpoint.ID.Op == 0 {
		ref.Area = 0
	}
	ref.check()
	r.checkSums(&ref, sums)
	c.writing, c.data, c.sums = ref, data, sums
	c.pending = make([]bool, len(sums))
	c.left = len(sums)
	for chunk := range sums {
		c.pending[chunk] = true
		r.writeCheckpointChunk(chunk)
	}
	assert(c.inflight == len(sums))
}

// checkpointChunkAt is where a chunk of an area lies in ZoneCheckpoint.
func (r *Replica) checkpointChunkAt(area, chunk int) uint64 {
	assert(area == 0 || area == 1)
	at := uint64(area)*r.config.checkpointAreaSectors() + uint64(chunk)*r.config.checkpointChunkSectors()
	assert(at+r.config.checkpointChunkSectors() <= 2*r.config.checkpointAreaSectors())
	return at * SectorSize
}

// checkpointChunkBytes is chunk number chunk of the checkpoint being written, padded
// with zeros to whole sectors.
func (r *Replica) checkpointChunkBytes(chunk int) []byte {
	c := &r.checkpoint
	size := r.config.checkpointChunk()
	from := uint64(chunk) * size
	assert(from < uint64(len(c.data)))
	part := c.data[from:min(from+size, uint64(len(c.data)))]
	b := r.scratch(int((uint64(len(part)) + SectorSize - 1) / SectorSize * SectorSize))
	copy(b, part)
	assert(len(b)%SectorSize == 0 && uint64(len(b)) <= size && len(b) >= len(part))
	return b
}

func (r *Replica) writeCheckpointChunk(chunk int) {
	c := &r.checkpoint
	assert(c.writing.ID.Op > 0 && chunk < len(c.pending))
	assert(c.pending[chunk])
	b := r.checkpointChunkBytes(chunk)
	id := r.issueIO(ioRecord{kind: ioCheckpoint, op: Op(chunk), copy: c.writing.Area, size: len(b),
		checksum: c.writing.ID.Checksum})
	c.inflight++
	r.disk.storage.Write(id, ZoneCheckpoint, r.checkpointChunkAt(c.writing.Area, chunk), b)
}

// completedCheckpoint reads back a chunk just written.
func (r *Replica) completedCheckpoint(io *ioRecord) {
	c := &r.checkpoint
	assert(io.kind == ioCheckpoint && io.checksum == c.writing.ID.Checksum && io.copy == c.writing.Area)
	assert(c.inflight > 0 && c.pending[io.op])
	verify := *io
	verify.kind = ioCheckpointVerify
	id := r.issueIO(verify)
	r.disk.storage.Read(id, ZoneCheckpoint, r.checkpointChunkAt(io.copy, int(io.op)), io.size)
}

// verifiedCheckpoint counts a chunk read back intact, or writes it again.
func (r *Replica) verifiedCheckpoint(io *ioRecord, data []byte) {
	c := &r.checkpoint
	assert(io.kind == ioCheckpointVerify && io.checksum == c.writing.ID.Checksum)
	chunk := int(io.op)
	assert(c.inflight > 0 && c.pending[chunk])
	c.inflight--
	size := r.config.checkpointChunk()
	from := uint64(chunk) * size
	part := min(size, uint64(len(c.data))-from)
	if data != nil && checksumOf(data[:part]) == c.sums[chunk] && allZero(data[part:]) {
		c.pending[chunk] = false
		c.left--
		return
	}
	r.stats.CheckpointChunksRewritten++
	r.writeCheckpointChunk(chunk)
}

// checkpointDurable notes that the root now names the checkpoint that was being written,
// and starts the one waiting, if any.
func (r *Replica) checkpointDurable() {
	c := &r.checkpoint
	if c.writing.ID.Op == 0 || r.root.Checkpoint != c.writing {
		return
	}
	assert(c.ready() && c.inflight == 0)
	r.stats.Checkpoints++
	r.serve(c.writing, c.data, c.sums)
	r.retireCheckpointed()
	next, nextData, nextSums := c.next, c.nextData, c.nextSums
	c.writing, c.data, c.sums, c.pending, c.left = checkpointRef{}, nil, nil, nil, 0
	c.next, c.nextData, c.nextSums = checkpointRef{}, nil, nil
	if next.ID.Op > r.root.Checkpoint.ID.Op {
		r.writeCheckpoint(next, nextData, nextSums)
	}
}

// retireCheckpointed moves the log's floor up to the durable checkpoint (when it is of this
// replica's executed state), and frees what the ring has passed: entries below both the
// durable checkpoint and the last JournalSlots ops.
func (r *Replica) retireCheckpointed() {
	j, durable := r.journal, r.root.Checkpoint.ID.Op
	if durable > j.floor && durable <= r.commitMin && !r.stateMissing {
		j.raiseFloor(durable, r.commitMin)
	}
	ring := Op(r.config.journalSlots())
	if j.op >= ring {
		j.compact(min(durable, j.floor, j.op-ring+1))
	}
	// Nothing a durable checkpoint does not cover is freed, and the floor is executed.
	assert(j.compacted <= durable && j.compacted <= j.floor)
	assert(j.floor <= r.commitMin)
}

// rootCheckpoint is the checkpoint the next root names: the one just written whole, or the
// durable one.
func (r *Replica) rootCheckpoint() checkpointRef {
	if r.checkpoint.ready() {
		// A root never names an older checkpoint than the durable one.
		assert(r.checkpoint.writing.ID.Op >= r.root.Checkpoint.ID.Op)
		return r.checkpoint.writing
	}
	return r.root.Checkpoint
}

// Checkpoint is the identity of the replica's durable checkpoint (Op 0: none yet).
func (r *Replica) Checkpoint() CheckpointID { return r.root.Checkpoint.ID }
