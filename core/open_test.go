package core

import (
	"testing"
)

// Restart from disk (open.go, restart.go): one test per path and per rule. Each was shown
// to fail with its rule taken out (see the comment of each).

// reopen starts replica i again on its storage, reading the storage back first; the
// harness completes the opening's IOs in the same step (writes and reads land at once).
func (h *harness) reopen(i int, fresh bool) *Replica {
	if h.replicas[i] != nil {
		panic("harness: reopen of a running replica")
	}
	h.step(i, func(*Replica) {
		rand := h.stream("reopen")
		h.lives[i]++
		h.replicas[i] = OpenReplica(h.config, ReplicaIndex(i), h.newMachine(i), &harnessBus{h: h, source: i},
			h.clocks[i], rand, h.storages[i], fresh)
	})
	return h.replicas[i]
}

// openCluster is three replicas that committed a few puts, every replica executed them.
func openCluster(t *testing.T, puts int) *harness {
	t.Helper()
	h := harnessRegistered(t, 3, 1, nil)
	for k := 0; k < puts; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	return h
}

// writeTestRoot writes every root copy of replica i's storage with s.
func writeTestRoot(h *harness, i int, s rootState) {
	for k := 0; k < RootCopies; k++ {
		h.storages[i].sectors[memSector{zone: ZoneRoot, sector: uint64(k)}] =
			encodeRoot(h.config.Cluster, ReplicaIndex(i), k, &s)
	}
}

// installedRoot is s with the head its log view installed at head, and that log's window,
// from journal j.
func installedRoot(s rootState, j *journal, head Op) rootState {
	var headers []PrepareHeader
	for op := max(head, 1) - min(head-1, rootWindowMax-1); op <= head && op > 0; op++ {
		headers = append(headers, *j.header(op))
	}
	s.Head, s.HeadChecksum = head, j.header(head).Checksum
	s.setWindow(headers)
	return s
}

// headerEntry returns the bytes of op's entry in replica i's header zone (nil if the
// sector was never written).
func headerEntry(h *harness, i int, op Op) []byte {
	b := h.storages[i].sector(ZoneHeaders, uint64(op)/headersPerSector)
	if b == nil {
		return nil
	}
	k := uint64(op) % headersPerSector
	return b[k*HeaderSize : (k+1)*HeaderSize]
}

// A fresh disk: the root is read, found blank, and the replica starts normal in view 0. A
// fresh start on a disk holding the first root, of view 0, is one whose first root landed
// and crashed before it was heard complete (the driver starts a replica that never
// promised anything fresh again): it starts the same. A fresh disk holding a later root is
// the driver's error.
func TestOpenFresh(t *testing.T) {
	h := harnessNew(3, 1, nil)
	h.crash(1)
	h.storages[1] = newMemStorage()
	r := h.reopen(1, true)
	if r.status != StatusNormal || r.view != 0 || r.journal.op != 0 || r.stats.Restarts != 0 {
		t.Fatalf("a fresh start: %s", h.statusLine(1))
	}
	if r.root.Sequence != 1 || r.root.View != 0 {
		t.Fatalf("a fresh start wrote root %+v", r.root)
	}
	h.crash(1)
	if r := h.reopen(1, true); r.status != StatusNormal || r.view != 0 || r.stats.Restarts != 0 {
		t.Fatalf("a fresh start over the first root: %s", h.statusLine(1))
	}
	h.crash(1)
	writeTestRoot(h, 1, rootState{Sequence: 2, View: 1, LogView: 0, HeadChecksum: r.root.HeadChecksum})
	defer func() {
		if recover() == nil {
			t.Fatal("a fresh disk with a later root opened")
		}
	}()
	h.reopen(1, true)
}

// A root found: a backup restarts normal in its view with its log from disk, executes it
// again to the same state digest (the client table with it), and writes its root again at
// once at the next sequence. (Without the re-execution in restartFromDisk, the digest
// differs until the next commit message.)
func TestOpenFoundRestartsBackupAndReexecutes(t *testing.T) {
	h := openCluster(t, 3)
	before := h.replica(1)
	op, commit, digest, sequence := before.journal.op, before.commitMin, before.sm.Digest(), before.root.Sequence
	clients := len(before.clients.byClient)
	h.crash(1)
	r := h.reopen(1, false)
	if r.status != StatusNormal || r.view != before.view || r.isPrimary() || r.stats.Restarts != 1 {
		t.Fatalf("restarted as %s", h.statusLine(1))
	}
	// Executed again at once up to what the disk says committed: the head's commit.
	if r.journal.op != op || r.commitMin != r.journal.header(op).Commit || r.commitMin == 0 {
		t.Fatalf("restarted at op %d executed %d, want op %d executed %d", r.journal.op,
			r.commitMin, op, r.journal.header(op).Commit)
	}
	if len(r.clients.byClient) != clients || r.root.Sequence != sequence+1 {
		t.Fatalf("client table %d sessions (want %d), root sequence %d (want %d)", len(r.clients.byClient), clients,
			r.root.Sequence, sequence+1)
	}
	for n := Op(1); n <= op; n++ {
		if e := r.journal.entry(n); !e.durable() || e.message == nil {
			t.Fatalf("op %d read back not held durably", n)
		}
	}
	h.settle(t) // the primary's heartbeat says the rest is committed
	if r := h.replica(1); r.commitMin != commit || r.sm.Digest() != digest {
		t.Fatalf("executed %d with digest %v, want %d with %v as before the crash", r.commitMin,
			r.sm.Digest(), commit, digest)
	}
}

// The primary of the view restarts into a view change for the next view: it lost its
// pipeline and its count of acknowledgements.
func TestOpenFoundPrimaryChangesView(t *testing.T) {
	h := openCluster(t, 2)
	view := h.replica(0).view
	h.crash(0)
	r := h.reopen(0, false)
	if r.status != StatusViewChange || r.view != view+1 || r.logView != view {
		t.Fatalf("the primary restarted as %s", h.statusLine(0))
	}
	if r.headUncertain || r.stats.Restarts != 1 {
		t.Fatalf("an intact disk made the head uncertain")
	}
	h.settle(t)
}

// A root lost (every copy corrupt) or none on a disk that ran before (a wipe): the replica
// recovers from its peers and has no view to vote in.
func TestOpenLostOrNoneRecovers(t *testing.T) {
	for _, wiped := range []bool{false, true} {
		h := openCluster(t, 2)
		h.crash(2)
		if wiped {
			h.storages[2] = newMemStorage()
		} else {
			// Every copy corrupt: those written (a root is written to a pair of them at a
			// time) with a bit flipped, the others garbage.
			for k := 0; k < RootCopies; k++ {
				if b := h.storages[2].sector(ZoneRoot, uint64(k)); len(b) > 0 {
					b[100] ^= 1
					continue
				}
				garbage := make([]byte, SectorSize)
				garbage[100] = 1
				h.storages[2].sectors[memSector{zone: ZoneRoot, sector: uint64(k)}] = garbage
			}
		}
		r := h.reopen(2, false)
		if r.status != StatusRecovering || r.journal.op != 0 || r.stats.Restarts != 0 {
			t.Fatalf("wiped %v: restarted as %s", wiped, h.statusLine(2))
		}
		h.settle(t)
		if r := h.replica(2); r.stats.Recoveries != 1 || r.journal.op != h.replica(0).journal.op {
			t.Fatalf("wiped %v: did not recover: %s", wiped, h.statusLine(2))
		}
	}
}

// The resurrection rule: ops above the root's head of a view below its log view were
// truncated by that view's install; their header entries are blank and their prepares
// remain. They are discarded, not read back as slotPrepareOnly. (Without the rule in
// openLog the replica restarts with them as its head.)
func TestOpenDiscardsOpsTruncatedByTheInstall(t *testing.T) {
	h := openCluster(t, 4)
	r2 := h.replica(2)
	op := r2.journal.op
	head := op - 2
	h.crash(2)
	// As if view 1 had been installed at head, truncating op-1 and op: entries blank.
	writeTestRoot(h, 2, installedRoot(rootState{Sequence: 9, View: 1, LogView: 1, Commit: head}, r2.journal, head))
	clear(headerEntry(h, 2, op-1))
	clear(headerEntry(h, 2, op))
	r := h.reopen(2, false)
	if r.opened.discarded != 2 || r.journal.op != head {
		t.Fatalf("discarded %d, head %d: want 2 and head %d", r.opened.discarded, r.journal.op, head)
	}
	if r.status != StatusNormal || r.view != 1 || r.opened.decisions[slotPrepareOnly] != 2 {
		t.Fatalf("restarted as %s, decisions %v", h.statusLine(2), r.opened.decisions)
	}
}

// Ops above the root's head of the log view itself were appended in it: kept.
func TestOpenKeepsOpsAppendedInTheLogView(t *testing.T) {
	h := openCluster(t, 4)
	r1 := h.replica(1)
	op := r1.journal.op
	h.crash(1)
	writeTestRoot(h, 1, installedRoot(r1.root, r1.journal, 1))
	r := h.reopen(1, false)
	if r.opened.discarded != 0 || r.journal.op != op || r.status != StatusNormal {
		t.Fatalf("discarded %d, %s: want none discarded and head %d", r.opened.discarded, h.statusLine(1), op)
	}
	if r.journal.chainFrom != 0 || r.commitMin != r.journal.header(op).Commit {
		t.Fatalf("chain from %d, executed %d", r.journal.chainFrom, r.commitMin)
	}
}

// restartWithCorruptHead crashes backup i, corrupts the prepare of its head on disk (its
// header entry stays: slotDamaged) and restarts it. It returns the damaged op.
func restartWithCorruptHead(t *testing.T, h *harness, i int) Op {
	t.Helper()
	r := h.replica(i)
	op := r.journal.op
	h.crash(i)
	slot := uint64(op) * r.config.slotSectors()
	h.storages[i].sector(ZonePrepares, slot)[HeaderSize+2] ^= 1 // in the body
	r = h.reopen(i, false)
	if r.opened.decisions[slotDamaged] != 1 || r.opened.uncertainAt != op {
		t.Fatalf("decisions %v, uncertain at %d: want op %d damaged", r.opened.decisions,
			r.opened.uncertainAt, op)
	}
	return op
}

// The uncertain-head rule: a replica whose head slot is damaged cannot prove where its log
// ends; it changes views but sends no do_view_change, however many ask, until a log is
// installed over it (here the start_view of the view the others complete). (Without the
// check in sendDoViewChange it votes.)
func TestOpenUncertainHeadDoesNotVote(t *testing.T) {
	h := openCluster(t, 3)
	view := h.replica(2).view
	restartWithCorruptHead(t, h, 2)
	r := h.replica(2)
	if !r.headUncertain || r.status != StatusViewChange || r.view != view+1 {
		t.Fatalf("an uncertain head restarted as %s (uncertain %v)", h.statusLine(2), r.headUncertain)
	}
	h.handle(0, 2, h.encoder().StartViewChange(&StartViewChange{Replica: 0, View: view + 1}))
	h.tickNode(2, int(r.config.RepairTicks)*3)
	if !r.viewChange.dvcSent {
		t.Fatalf("r2 has no view-change quorum: %s", h.statusLine(2))
	}
	if dvcs := h.messages(2, -1, CommandDoViewChange); len(dvcs) != 0 {
		t.Fatalf("r2 voted with an uncertain head: %q", h.sent(2))
	}
	h.settle(t)
	if r := h.replica(2); r.headUncertain || r.status != StatusNormal || !r.Healthy() {
		t.Fatalf("r2 after the view change: %s (uncertain %v)", h.statusLine(2), r.headUncertain)
	}
}

// The no-nack rule: a replica never nacks an op it holds only in corrupt form: its
// do_view_change abstains for every op up to the highest damaged one, which its window
// shows as not held. (Without setting recoveredOp in openLog, the window's missing
// prepare is a nack.)
func TestOpenNeverNacksADamagedOp(t *testing.T) {
	h := openCluster(t, 3)
	op := restartWithCorruptHead(t, h, 1)
	r := h.replica(1)
	r.headUncertain = false // as if a log had been installed over it, without repair yet
	m := r.ownDoViewChange()
	k := len(m.Headers) - 1
	if m.Headers[k].Op != op || m.Present&(1<<k) != 0 {
		t.Fatalf("the window does not show op %d as not held: present %b", op, m.Present)
	}
	if m.RecoveredOp < op {
		t.Fatalf("do_view_change abstains up to op %d, below the damaged op %d", m.RecoveredOp, op)
	}
	if r.ackable(op) || r.journal.message(op) != nil {
		t.Fatal("a damaged op is ackable before repair")
	}
}

// Verified header writes: a header sector's write that a misdirect sent elsewhere leaves
// the sector blank; the read-back sees it, the sector is written again, and the op is
// acknowledged only then, with its header on disk. (Counting the headers durable when the
// write completes acks an op whose header entry is blank.)
func TestVerifiedHeaderWritesCatchAMisdirect(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r1, s1 := h.replica(1), h.storages[1]
	misdirected := false
	s1.misdirect = func(zone Zone, offset uint64) uint64 {
		if zone == ZoneHeaders && !misdirected {
			misdirected = true
			return offset + 7*SectorSize
		}
		return offset
	}
	if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(h.clientNode(1), 0, nil, 0)
	h.deliver(0, 1, []Command{CommandPrepare}, 0)
	op := r1.journal.op
	if s1.misdirected != 1 || r1.stats.HeadersRewritten != 1 {
		t.Fatalf("misdirected %d writes, rewrote %d sectors: want 1 each", s1.misdirected,
			r1.stats.HeadersRewritten)
	}
	acks := h.messages(1, 0, CommandPrepareOk)
	if len(acks) != 1 || h.decode(t, acks[0]).PrepareOk.Op != op {
		t.Fatalf("r1 did not acknowledge op %d after the rewrite: %q", op, h.sent(1))
	}
	if e := headerEntry(h, 1, op); e == nil || string(e) != string(r1.journal.message(op)[:HeaderSize]) {
		t.Fatalf("r1 acknowledged op %d with its header entry not on disk", op)
	}
}

// A damaged op's header stays on disk: restarted with a damaged head, the replica writes
// the header sector that holds it again, and the damaged op's header entry is still there,
// so a second crash before repair still finds "maybe acknowledged", never a blank that
// reads as never acknowledged. (Without headerKept, sectorHeaders leaves the entry out and
// the rewrite blanks it: the second restart finds the op empty and the log ends below it,
// as in swarm seed 3 with whole-cluster crashes, where every replica lost op 48 that way.)
func TestOpenKeepsADamagedOpsHeaderOnDisk(t *testing.T) {
	h := openCluster(t, 3)
	op := restartWithCorruptHead(t, h, 2)
	want := append([]byte(nil), headerEntry(h, 2, op)...)
	r := h.replica(2)
	// Force a write of the sector from the journal, as any change of a neighbour would.
	s := uint64(op) / headersPerSector
	r.disk.sectors[s].rewrite = true
	h.step(2, func(r *Replica) { r.writeHeaders(s) })
	if got := headerEntry(h, 2, op); string(got) != string(want) {
		t.Fatalf("the rewrite of sector %d dropped the damaged op %d's header", s, op)
	}
	h.crash(2)
	r = h.reopen(2, false)
	if r.opened.decisions[slotDamaged] != 1 || r.journal.op != op {
		t.Fatalf("after a second restart: head %d, decisions %v: want op %d still damaged, the head",
			r.journal.op, r.opened.decisions, op)
	}
}
