package core

import (
	"bytes"
	"strings"
	"testing"
)

// checkpointCluster is three replicas checkpointing every every ops, with puts ops
// committed and executed everywhere (one op a put, the register before them).
func checkpointCluster(t *testing.T, every, puts int) *harness {
	t.Helper()
	h := harnessRegistered(t, 3, 1, func(c *Config) { c.CheckpointOps = every })
	for k := 0; k < puts; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: string(rune('a' + k%7)), Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	return h
}

// Every replica checkpoints at the same ops, and the checkpoints are byte-identical: the
// same identity, made durable (named by the root) on each.
func TestCheckpointsAreIdenticalAcrossReplicas(t *testing.T) {
	h := checkpointCluster(t, 4, 10)
	first := h.replica(0).Checkpoint()
	if first.Op != 12 || first.Size < checkpointHeadSize || first.Checksum.IsZero() {
		t.Fatalf("replica 0's checkpoint %+v: want op 12 (a register, 11 puts; one every 4)", first)
	}
	for i := range h.replicas {
		r := h.replica(i)
		if r.Checkpoint() != first {
			t.Fatalf("replica %d's checkpoint %+v, replica 0's %+v", i, r.Checkpoint(), first)
		}
		if r.stats.Checkpoints != 3 || r.root.Checkpoint.Header != *r.journal.header(12) {
			t.Fatalf("replica %d made %d checkpoints durable, naming %v: want 3, the last of op 12 %v", i,
				r.stats.Checkpoints, r.root.Checkpoint.Header.Checksum, r.journal.header(12).Checksum)
		}
	}
}

// A checkpoint is written to the area the root does not name: the durable one survives a
// crash in the middle of the next one's writes.
func TestCheckpointAlternatesAreas(t *testing.T) {
	h := checkpointCluster(t, 4, 3) // ops 1 to 5: op 4 checkpointed, to area 0
	r := h.replica(1)
	if r.root.Checkpoint.ID.Op != 4 || r.root.Checkpoint.Area != 0 {
		t.Fatalf("checkpoint of op %d in area %d: want op 4 in area 0", r.root.Checkpoint.ID.Op, r.root.Checkpoint.Area)
	}
	h.storages[1].withhold = true
	for k := 0; k < 4; k++ { // op 8 checkpointed in memory, its writes held
		if err := h.submit(1, KVInput{Op: KVPut, Key: "x", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.stabilize(200)
	}
	if r.checkpoint.writing.ID.Op != 8 || r.checkpoint.writing.Area != 1 {
		t.Fatalf("writing checkpoint %d to area %d: want op 8 to area 1", r.checkpoint.writing.ID.Op,
			r.checkpoint.writing.Area)
	}
	durable := r.root.Checkpoint
	h.crash(1)
	h.storages[1].withhold = false
	r = h.reopen(1, false)
	h.stabilize(200)
	if r.opened.checkpoint != checkpointWhole || r.root.Checkpoint.ID.Op < durable.ID.Op {
		t.Fatalf("reopened with checkpoint %v (%+v): want the durable one of op 4 whole", r.opened.checkpoint,
			r.root.Checkpoint.ID)
	}
}

// A restart reads the checkpoint its root names back whole and restores the state from it:
// it executes only the ops above it. One whose chunk rotted is lost: the replica starts with
// its log and no state, and a state transfer brings the checkpoint back from a peer.
func TestCheckpointRestoredAtRestart(t *testing.T) {
	h := checkpointCluster(t, 4, 6) // ops 1 to 8: checkpoints of ops 4 and 8
	want := h.replica(2).Checkpoint()
	h.crash(2)
	r := h.reopen(2, false)
	h.settle(t)
	if r.opened.checkpoint != checkpointWhole || r.Checkpoint() != want || want.Op != 8 {
		t.Fatalf("reopened with checkpoint %v %+v: want %+v whole, of op 8", r.opened.checkpoint, r.Checkpoint(), want)
	}
	if r.restoredAt != 8 || r.journal.floor != 8 || r.stats.Committed != uint64(r.commitMin-8) ||
		r.Digest() != h.replica(0).Digest() {
		t.Fatalf("restored at op %d (floor %d), executed %d ops to op %d, digest %v: want from op 8, replica 0's %v",
			r.restoredAt, r.journal.floor, r.stats.Committed, r.commitMin, r.Digest(), h.replica(0).Digest())
	}
	h.crash(2)
	at := r.checkpointChunkAt(r.root.Checkpoint.Area, 0) / SectorSize
	h.storages[2].sectors[memSector{zone: ZoneCheckpoint, sector: at}][checkpointHeadSize+3] ^= 1
	r = h.reopen(2, false)
	h.settle(t)
	if r.opened.checkpoint != checkpointLost || r.stats.StateTransfers != 1 || r.stateMissing {
		t.Fatalf("reopened over a rotted chunk with checkpoint %v, %d state transfers, state missing %v: "+
			"want it lost, then transferred", r.opened.checkpoint, r.stats.StateTransfers, r.stateMissing)
	}
	if r.Digest() != h.replica(0).Digest() || r.commitMin != h.replica(0).commitMin {
		t.Fatalf("after the transfer at op %d with digest %v: want replica 0's op %d, %v", r.commitMin, r.Digest(),
			h.replica(0).commitMin, h.replica(0).Digest())
	}
	// The transferred checkpoint is written to its disk again, to the other area.
	if r.root.Checkpoint.ID != want || r.root.Checkpoint.Area == 0 && r.stats.Checkpoints == 0 {
		t.Fatalf("root names checkpoint %+v in area %d after %d made durable", r.root.Checkpoint.ID,
			r.root.Checkpoint.Area, r.stats.Checkpoints)
	}
}

// A replica cut off while the others checkpoint, and whose peers then restart from their
// checkpoints (their logs now begin there), can no longer repair the ops it lacks: it
// transfers a checkpoint from a peer, in chunks, and executes the log above it.
func TestStateTransferCatchesUpALaggingReplica(t *testing.T) {
	h := checkpointCluster(t, 4, 1) // ops 1 to 3
	h.partition([][]int{{0, 1, h.clientNode(1)}, {2}})
	for k := 0; k < 8; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "p", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.stabilize(300)
	}
	for _, i := range []int{0, 1} {
		h.crash(i)
		h.reopen(i, false)
		h.stabilize(1000)
	}
	if floor := h.replica(0).journal.floor; floor != 8 || h.replica(2).commitMin != 3 {
		t.Fatalf("replica 0's log begins at op %d, replica 2 executed op %d: want 8 and 3", floor, h.replica(2).commitMin)
	}
	h.heal()
	h.settle(t)
	r := h.replica(2)
	if r.stats.StateTransfers != 1 || r.restoredAt != 8 || r.journal.floor != 8 {
		t.Fatalf("%d state transfers, restored at op %d, floor %d: want one, of op 8", r.stats.StateTransfers,
			r.restoredAt, r.journal.floor)
	}
	if r.Digest() != h.replica(0).Digest() || r.commitMin != h.replica(0).commitMin || !r.Healthy() {
		t.Fatalf("after the transfer at op %d with digest %v (healthy %v): want replica 0's op %d, %v", r.commitMin,
			r.Digest(), r.Healthy(), h.replica(0).commitMin, h.replica(0).Digest())
	}
	// The client table came with the checkpoint (each listing's first line names its replica).
	if got, want := h.clientTableLines(2)[1:], h.clientTableLines(0)[1:]; len(got) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("client table after the transfer:\n%s\nreplica 0's:\n%s", strings.Join(h.clientTableLines(2), "\n"),
			strings.Join(h.clientTableLines(0), "\n"))
	}
}

// A chunk whose write landed elsewhere is found by its read-back and written again, and the
// checkpoint is durable only once every chunk is on disk.
func TestCheckpointChunkMisdirectedIsWrittenAgain(t *testing.T) {
	h := checkpointCluster(t, 4, 1) // ops 1 to 3
	s := h.storages[0]
	misdirected := false
	s.misdirect = func(zone Zone, offset uint64) uint64 {
		if zone == ZoneCheckpoint && !misdirected {
			misdirected = true
			return offset + SectorSize*h.config.checkpointChunkSectors()
		}
		return offset
	}
	h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "v"})
	h.settle(t)
	r := h.replica(0)
	if !misdirected || r.stats.CheckpointChunksRewritten != 1 || r.Checkpoint().Op != 4 {
		t.Fatalf("misdirected %v, chunks rewritten %d, checkpoint of op %d: want one rewritten, op 4",
			misdirected, r.stats.CheckpointChunksRewritten, r.Checkpoint().Op)
	}
	h.crash(0)
	s.misdirect = nil
	r = h.reopen(0, false)
	h.settle(t)
	if r.opened.checkpoint != checkpointWhole {
		t.Fatalf("reopened with checkpoint %v: want it whole", r.opened.checkpoint)
	}
}

// The bytes of a checkpoint decode back to the same client table, and a head of another op
// or cluster is refused.
func TestCheckpointEncoding(t *testing.T) {
	h := checkpointCluster(t, 4, 3)
	r := h.replica(0)
	head := r.journal.header(r.commitMin)
	b := encodeCheckpoint(h.config.Cluster, head, head.Timestamp, r.clients, r.sm)
	table, state, err := decodeCheckpoint(b, h.config.Cluster, head)
	if err != nil || !bytes.Equal(state, r.sm.Snapshot()) {
		t.Fatalf("decoded with %v, state of %d bytes: want %d", err, len(state), len(r.sm.Snapshot()))
	}
	back, err := decodeClientTable(table, h.config.ClientTableMax)
	if err != nil || !bytes.Equal(back.encode(nil), r.clients.encode(nil)) || len(back.byClient) != 1 {
		t.Fatalf("client table decoded with %v, %d clients: want the replica's one", err, len(back.byClient))
	}
	if _, _, err := decodeCheckpoint(b, h.config.Cluster+1, head); err == nil {
		t.Fatal("a checkpoint of another cluster decoded")
	}
	other := *r.journal.header(r.commitMin - 1)
	if _, _, err := decodeCheckpoint(b, h.config.Cluster, &other); err == nil {
		t.Fatal("a checkpoint of another op decoded")
	}
	if _, err := decodeClientTable(table[:len(table)-1], h.config.ClientTableMax); err == nil {
		t.Fatal("a cut client table decoded")
	}
}

// ringCluster is three replicas checkpointing every 4 ops on the smallest ring that allows
// (2·4 + 2·8 + 2 = 26, in whole header sectors: 32 slots), with ops 1 to 3 committed.
func ringCluster(t *testing.T) *harness {
	t.Helper()
	h := harnessRegistered(t, 3, 1, func(c *Config) { c.CheckpointOps, c.JournalSlots = 4, 32 })
	if err := h.submit(1, KVInput{Op: KVPut, Key: "r", Value: "0"}); err != nil {
		t.Fatal(err)
	}
	h.settle(t)
	return h
}

// puts commits n more puts, one at a time, at the replicas the client reaches.
func ringPuts(t *testing.T, h *harness, n int) {
	t.Helper()
	for k := 0; k < n; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: string(rune('a' + k%5)), Value: string(rune('a' + k%26))}); err != nil {
			t.Fatal(err)
		}
		h.stabilize(300)
	}
}

// caughtUp fails the test unless replica i transferred a checkpoint once and then holds
// what replica 0 holds: the same executed op, state, client table, and a whole log.
func caughtUp(t *testing.T, h *harness, i int) {
	t.Helper()
	r, r0 := h.replica(i), h.replica(0)
	if r.stats.StateTransfers != 1 || r.restoredAt == 0 {
		t.Fatalf("replica %d: %d state transfers, restored at op %d: want one", i, r.stats.StateTransfers, r.restoredAt)
	}
	if r.Digest() != r0.Digest() || r.commitMin != r0.commitMin || !r.Healthy() {
		t.Fatalf("replica %d at op %d with digest %v (healthy %v): want replica 0's op %d, %v", i, r.commitMin,
			r.Digest(), r.Healthy(), r0.commitMin, r0.Digest())
	}
	if got, want := h.clientTableLines(i)[1:], h.clientTableLines(0)[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replica %d's client table:\n%s\nreplica 0's:\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The ring bounds what a replica keeps: a replica partitioned away while the others' rings
// wrap twice finds the ops it lacks gone from every peer, and rejoins by state transfer.
func TestRingWrapsPastAPartitionedReplica(t *testing.T) {
	h := ringCluster(t)
	h.partition([][]int{{0, 1, h.clientNode(1)}, {2}})
	ringPuts(t, h, 2*32+4)
	r0 := h.replica(0)
	if oldest := r0.journal.oldest(); oldest <= h.replica(2).commitMin+1 || r0.journal.compacted == 0 {
		t.Fatalf("replica 0 serves from op %d (compacted below %d), replica 2 needs op %d: want it gone",
			oldest, r0.journal.compacted, h.replica(2).commitMin+1)
	}
	// Memory holds the ring, not the run: no chunk below the compacted one.
	for c := Op(0); c < r0.journal.compacted/journalChunk; c++ {
		if r0.journal.chunks[c] != nil {
			t.Fatalf("journal chunk %d kept below op %d", c, r0.journal.compacted)
		}
	}
	h.heal()
	h.settle(t)
	caughtUp(t, h, 2)
}

// A replica whose disk was replaced by an empty one recovers its view from its peers
// (VRR §4.3), then transfers a checkpoint: the ops it would replay are gone from the rings.
func TestWipedReplicaRejoinsByStateTransfer(t *testing.T) {
	h := ringCluster(t)
	ringPuts(t, h, 2*32+4)
	h.crash(2)
	h.storages[2] = newMemStorage()
	r := h.reopen(2, false)
	h.settle(t)
	if r.stats.Recoveries != 1 {
		t.Fatalf("%d recoveries: want the wiped replica to recover first", r.stats.Recoveries)
	}
	caughtUp(t, h, 2)
}

// On disk the journal is a ring too: a restart after the ring wrapped finds each op above
// its checkpoint in its slot, the slots' earlier laps read as never written in this lap,
// and the log above the checkpoint whole.
func TestRestartReadsTheRingAfterItWrapped(t *testing.T) {
	h := ringCluster(t)
	ringPuts(t, h, 3*32+5)
	h.settle(t)
	r := h.replica(1)
	head, checkpoint := r.journal.op, r.root.Checkpoint.ID.Op
	if head < 3*32 || checkpoint+32 < head {
		t.Fatalf("head %d, durable checkpoint %d: want the ring wrapped thrice, the head in its window", head, checkpoint)
	}
	h.crash(1)
	r = h.reopen(1, false)
	h.settle(t)
	if r.opened.decisions[slotUnknown] != 0 || r.opened.decisions[slotDamaged] != 0 || r.restoredAt != checkpoint {
		t.Fatalf("decisions %v, restored at op %d: want every op above checkpoint %d read back whole",
			r.opened.decisions, r.restoredAt, checkpoint)
	}
	if got := r.opened.decisions[slotIntact]; got != int(head-checkpoint) {
		t.Fatalf("%d ops intact: want the %d above the checkpoint", got, head-checkpoint)
	}
	if r.Digest() != h.replica(0).Digest() || r.commitMin != h.replica(0).commitMin || r.stats.StateTransfers != 0 {
		t.Fatalf("at op %d with digest %v after %d transfers: want replica 0's op %d, %v, none", r.commitMin,
			r.Digest(), r.stats.StateTransfers, h.replica(0).commitMin, h.replica(0).Digest())
	}
}

// ringOp names the one op of the window above a checkpoint that each slot holds, and an
// earlier lap's op in a slot reads as never written there.
func TestRingSlots(t *testing.T) {
	c := harnessConfig(3)
	c.CheckpointOps, c.JournalSlots = 4, 32
	for _, checkpoint := range []Op{0, 4, 31, 32, 33, 100} {
		seen := map[Op]bool{}
		for slot := uint64(0); slot < 32; slot++ {
			op := c.ringOp(checkpoint, slot)
			if op <= checkpoint || op > checkpoint+32 || c.slotOf(op) != slot || seen[op] {
				t.Fatalf("checkpoint %d, slot %d: op %d", checkpoint, slot, op)
			}
			seen[op] = true
		}
	}
	if !earlierLap(5, 37, 32) || earlierLap(37, 5, 32) || earlierLap(6, 37, 32) || earlierLap(37, 37, 32) {
		t.Fatal("earlierLap: op 5 is op 37's slot's earlier lap, and nothing else is")
	}
}

// A cluster of one whose log ends at its checkpoint restarts at it: no op above the floor
// is on disk, and the log is the checkpoint's. (Seed 28 with whole-cluster crashes on:
// soloHead took the empty log above the floor for a log below the commit.)
func TestSoloRestartAtItsCheckpoint(t *testing.T) {
	h := harnessRegistered(t, 1, 1, func(c *Config) { c.CheckpointOps, c.JournalSlots = 4, 32 })
	for k := 0; k < 6; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "solo", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	if r := h.replica(0); r.journal.op != 8 || r.Checkpoint().Op != 8 {
		t.Fatalf("head %d, checkpoint of op %d: want both at op 8", r.journal.op, r.Checkpoint().Op)
	}
	h.crash(0)
	r := h.reopen(0, false)
	h.settle(t)
	if r.journal.op != 8 || r.commitMin != 8 || r.restoredAt != 8 || r.status != StatusNormal {
		t.Fatalf("restarted %v at op %d, executed %d, restored at %d: want normal at the checkpoint, op 8",
			r.status, r.journal.op, r.commitMin, r.restoredAt)
	}
}

// A peer's ping names its checkpoint's op, executed and so committed: a primary whose view
// change completed without that peer learns the commit from it, and commits its pipeline
// up to there, though the peer, restored from the checkpoint, can acknowledge none of it.
// A ping naming another prepare at that op than the view's log holds is a broken history.
func TestPrimaryLearnsACommitFromACheckpoint(t *testing.T) {
	h := harnessRegistered(t, 3, 3, nil) // ops 1 to 6: three registers, three puts
	h.cut(1, 0, []Command{CommandPrepareOk})
	h.cut(2, 0, []Command{CommandPrepareOk})
	for k := ClientID(1); k <= 3; k++ {
		if err := h.submit(k, KVInput{Op: KVPut, Key: "learn", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.stabilize(3)
	}
	r0 := h.replica(0)
	head, commit := r0.journal.op, r0.commitMax
	if head < commit+3 {
		t.Fatalf("primary at op %d, commit %d: want three ops in its pipeline", head, commit)
	}
	ping := Ping{Replica: 1, View: r0.view, Checkpoint: commit + 2, CheckpointChecksum: r0.journal.header(commit + 2).Checksum,
		Oldest: 1}
	h.handle(1, 0, h.encoder().Ping(&ping))
	if r0.commitMax != commit+2 || r0.commitMin != commit+2 || r0.journal.op-r0.commitMax != Op(len(r0.primary.pipeline)) {
		t.Fatalf("commit %d, executed %d, pipeline %d: want both at op %d", r0.commitMax, r0.commitMin,
			len(r0.primary.pipeline), commit+2)
	}
	ping.Checkpoint, ping.CheckpointChecksum = head, checksumOf([]byte("another prepare"))
	// From a later view it is no news to act on: the ops of that view may differ from this
	// (deposed) primary's (seed 86, whole-cluster crashes on, panicked so).
	ping.View = r0.view + 1
	h.handle(1, 0, h.encoder().Ping(&ping))
	if r0.commitMax != commit+2 {
		t.Fatalf("a later view's checkpoint moved the commit to %d", r0.commitMax)
	}
	ping.View = r0.view
	defer func() {
		if recover() == nil {
			t.Fatal("a peer's checkpoint of another prepare than the log's was taken")
		}
	}()
	h.handle(1, 0, h.encoder().Ping(&ping))
}

// A read of the checkpoint misdirected elsewhere at a restart does not lose the state: the
// checkpoint is read again, and the intact one restored. (Seed 191, whole-cluster crashes
// on: two replicas of three took their intact checkpoints for lost so, and nobody could
// send the state.)
func TestCheckpointMisreadIsReadAgain(t *testing.T) {
	h := checkpointCluster(t, 4, 3) // ops 1 to 5: the checkpoint of op 4
	h.crash(2)
	misread := 0
	h.storages[2].misread = func(zone Zone, offset uint64) uint64 {
		if zone == ZoneCheckpoint && misread == 0 {
			misread++
			return offset + SectorSize // another place of the zone
		}
		return offset
	}
	r := h.reopen(2, false)
	h.settle(t)
	if misread != 1 || r.opened.checkpoint != checkpointWhole || r.stateMissing || r.restoredAt != 4 ||
		r.stats.StateTransfers != 0 {
		t.Fatalf("misread %d: checkpoint %v, state missing %v, restored at op %d, %d transfers: want it read "+
			"again, whole, restored at op 4", misread, r.opened.checkpoint, r.stateMissing, r.restoredAt,
			r.stats.StateTransfers)
	}
}
