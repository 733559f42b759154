package core

import "testing"

// Restart rules found by whole-cluster crashes in the swarm (sim/processes.go,
// restartFromDisk), one test each; each fails with its rule taken out.

// The install replaced the op at the head (another prepare there), and its new header and
// prepare never reached the disk: the slot holds the replaced prepare, an op of no log this
// replica is in. The root's window names the installed one, which the journal takes, the
// replaced prepare dropped, so the replica neither executes nor votes it. (Seed 104, with
// whole-cluster crashes on, executed such a stale op as its log view's, where the view had
// committed another. Without the window's header in openLog the journal keeps it.)
func TestOpenStaleSlotAtTheRootHeadIsReplaced(t *testing.T) {
	h := openCluster(t, 4)
	r2 := h.replica(2)
	head := r2.journal.op
	replaced := *r2.journal.header(head)
	installed := replaced
	installed.Timestamp++ // another prepare at the same op, on the same parent
	h.encoder().Prepare(&installed, r2.journal.message(head)[HeaderSize:])
	if installed.Checksum == replaced.Checksum || installed.Parent != replaced.Parent {
		t.Fatalf("the installed prepare %v is the replaced one", installed.Checksum)
	}
	var headers []PrepareHeader
	for op := Op(1); op < head; op++ {
		headers = append(headers, *r2.journal.header(op))
	}
	h.crash(2)
	root := r2.root
	root.Sequence++
	root.Head, root.HeadChecksum = head, installed.Checksum
	root.setWindow(append(headers, installed))
	writeTestRoot(h, 2, root)
	r := h.reopen(2, false)
	if r.headUncertain || r.journal.op != head || r.journal.header(head).Checksum != installed.Checksum {
		t.Fatalf("restarted at op %d as %v (uncertain %v): want op %d as the installed %v", r.journal.op,
			r.journal.header(r.journal.op).Checksum, r.headUncertain, head, installed.Checksum)
	}
	if r.journal.message(head) != nil || r.commitMin >= head {
		t.Fatalf("op %d held %v, executed up to %d: the replaced prepare is not the log's",
			head, r.journal.message(head) != nil, r.commitMin)
	}
}

// A cluster of one cuts its log below the first op its disk lost: nobody can repair it,
// and nothing above it was committed. It then serves again. (Without soloHead it keeps the
// hole and waits in a view change for a prepare nobody can send: seeds 24, 55, 97.)
func TestOpenSoloCutsBelowAHole(t *testing.T) {
	h := harnessRegistered(t, 1, 1, nil)
	for k := 0; k < 4; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	head := h.replica(0).journal.op
	h.crash(0)
	blankOnDisk(h, 0, head-1) // torn in flight, with the head's writes landing
	r := h.reopen(0, false)
	if r.journal.op != head-2 {
		t.Fatalf("restarted at op %d: want op %d, below the hole at %d", r.journal.op, head-2, head-1)
	}
	h.settle(t)
	if r := h.replica(0); r.status != StatusNormal {
		t.Fatalf("after the restart: %s", h.statusLine(0))
	}
}

// In a cluster of two the view-change quorum is one: a restart whose root left the view
// for one the replica leads finishes the view change inside the restart and installs its
// head. The root's older installed head must not overwrite it. (Without the order in
// restartFromDisk the next root named the new log view with the old head, and the restart
// after it discarded the log as truncated: seeds 120 and 146 lost committed ops.)
func TestRestartFinishingItsViewChangeKeepsItsHead(t *testing.T) {
	h := harnessRegistered(t, 2, 1, nil)
	for k := 0; k < 3; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: string(rune('a' + k))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	r1 := h.replica(1)
	head := r1.journal.op
	h.crash(1)
	root := r1.root
	root.Sequence++
	root.View = 1 // left view 0 for view 1, which replica 1 leads
	if h.config.primaryOf(root.View) != 1 || root.LogView != 0 || root.Head >= head {
		t.Fatalf("root %+v: want log view 0 below view 1 of primary 1, head below %d", root, head)
	}
	writeTestRoot(h, 1, root)
	r := h.reopen(1, false)
	if r.status != StatusNormal || r.view != 1 || r.logView != 1 {
		t.Fatalf("restarted as %s: want the view change to view 1 finished at once", h.statusLine(1))
	}
	if r.headInstalled != head || r.headInstalledChecksum != r.journal.header(head).Checksum {
		t.Fatalf("view 1 installed head %d, the replica holds %d", r.headInstalled, head)
	}
}

// A prepare slot read back blank under a header entry that is junk is read again before
// the blank is believed: a misdirected read of a blank place must not make an acknowledged
// op empty (nacked, truncated). Here the op's header entry is corrupt and the first read of
// its slot is misdirected far away: the second read finds the prepare, and the op is held.
// (Without the reread the slot is decided empty and the op is gone from the log: seed 146
// truncated a committed op so.)
func TestOpenBlankUnderJunkHeaderIsReadAgain(t *testing.T) {
	h := openCluster(t, 4)
	r2 := h.replica(2)
	op := r2.journal.op - 1
	checksum := r2.journal.header(op).Checksum
	h.crash(2)
	entry := headerEntry(h, 2, op)
	for k := range entry {
		entry[k] = 0xa5 // neither blank nor a header: slotHeaderCorrupt
	}
	s := h.storages[2]
	slot := uint64(op) * h.config.slotSectors() * SectorSize
	misread := 0
	s.misread = func(zone Zone, offset uint64) uint64 {
		if zone == ZonePrepares && offset == slot && misread == 0 {
			misread++
			return offset + 1000*h.config.slotSectors()*SectorSize // a place never written
		}
		return offset
	}
	r := h.reopen(2, false)
	if misread != 1 || r.opened.decisions[slotPrepareOnly] != 1 || !r.journal.held(op, checksum) {
		t.Fatalf("misread %d, decisions %v, op %d held %v: want the slot read again and the op held",
			misread, r.opened.decisions, op, r.journal.held(op, checksum))
	}
}

// Header sectors that read back as junk at a restart are written over with what their slots
// should hold (empty entries above the log), so junk does not pile up across restarts
// (every start-up reads the prepare slot of every non-blank entry: seed 1 spent 20,000
// ticks opening 16,000 of them). (Without the write in openSectors the junk sector is
// still there after the restart settles.)
func TestOpenRewritesJunkAboveTheLog(t *testing.T) {
	h := openCluster(t, 4)
	h.crash(2)
	const junk = 10 // a header sector far above the log's first
	b := make([]byte, SectorSize)
	for k := range b {
		b[k] = 0xa5
	}
	h.storages[2].sectors[memSector{zone: ZoneHeaders, sector: junk}] = b
	h.reopen(2, false)
	h.settle(t)
	s := h.storages[2].sector(ZoneHeaders, junk)
	for k := uint64(0); k < headersPerSector; k++ {
		op := h.config.ringOp(h.replica(2).root.Checkpoint.ID.Op, junk*headersPerSector+k)
		if kind, _ := readSlotHeader(s[k*HeaderSize:(k+1)*HeaderSize], h.config.Cluster, op, uint64(h.config.journalSlots())); kind != slotHeaderBlank {
			t.Fatalf("header sector %d still holds junk after the restart at op %d's entry", junk, op)
		}
	}
	h.crash(2)
	if r := h.reopen(2, false); r.opened.decisions[slotUnknown] != 0 {
		t.Fatalf("the next restart found %d unknown slots", r.opened.decisions[slotUnknown])
	}
}

// A header sector written to the wrong place must not make the acknowledged ops it lands
// on read as never written: an empty entry names its op, so one read at another op's place
// is junk there, not a blank. The head's sector (ops above the head empty) lands on the
// sector below, every op of it acknowledged: none reads back blank, each is held by its
// prepare. (With zeros for empty entries, as before, the ops under the empty entries read
// as never written and are dropped: seed 1663 nacked and truncated committed ops so.)
func TestMisdirectedEmptyEntriesProveNothing(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	for k := 0; k < int(headersPerSector)+2; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: string(rune('a' + k%26))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	r2 := h.replica(2)
	head := r2.journal.op
	if head/headersPerSector != 1 || head%headersPerSector >= headersPerSector-1 {
		t.Fatalf("head %d: want one in the second header sector, with empty entries above it", head)
	}
	h.crash(2)
	s := h.storages[2]
	s.sectors[memSector{zone: ZoneHeaders, sector: 0}] = append([]byte(nil), s.sector(ZoneHeaders, 1)...)
	r := h.reopen(2, false)
	if r.journal.op != head || r.opened.decisions[slotPrepareOnly] != int(headersPerSector)-1 {
		t.Fatalf("decisions %v, head %d: want the ops of sector 0 held by their prepares, head %d",
			r.opened.decisions, r.journal.op, head)
	}
	for op := Op(1); op < headersPerSector; op++ {
		if r.journal.message(op) == nil {
			t.Fatalf("op %d dropped: its entry read as never written", op)
		}
	}
}

// Promised: false until the replica's first root is durable, true from then on.
func TestPromisedOnceTheFirstRootIsDurable(t *testing.T) {
	h := harnessNew(3, 1, nil)
	h.crash(1)
	h.storages[1] = newMemStorage()
	h.storages[1].withhold = true
	r := h.reopen(1, true)
	if r.Promised() {
		t.Fatal("promised before any root write completed")
	}
	h.storages[1].withhold = false
	h.settle(t)
	if !h.replica(1).Promised() {
		t.Fatal("not promised with its root durable")
	}
}

// The root's window: the root names the installed log's last headers, so a restart whose
// disk holds less than the log view's head still knows its log up to that head. It is not
// uncertain: it votes that log at once, the ops it never wrote (blank slots: never
// acknowledged) not present and not abstained on, so a view change can truncate them by
// nacks when no one holds them. (Without the window, TestOpenRootHeadAboveTheDiskIsUncertain:
// it waits for a peer to tell it its head, and with the log view's primary wiped no peer
// could: seeds 49, 107, 237 never started another view.)
func TestOpenRootWindowVotesTheInstalledLog(t *testing.T) {
	h := openCluster(t, 4)
	r2 := h.replica(2)
	view, head := r2.view, r2.journal.op
	var headers []PrepareHeader
	for op := Op(1); op <= head; op++ {
		headers = append(headers, *r2.journal.header(op))
	}
	h.crash(2)
	root := r2.root
	root.Sequence++
	root.Head, root.HeadChecksum = head, r2.journal.header(head).Checksum
	root.setWindow(headers)
	writeTestRoot(h, 2, root)
	blankOnDisk(h, 2, head)
	blankOnDisk(h, 2, head-1)
	r := h.reopen(2, false)
	if r.headUncertain || r.journal.op != head || r.journal.chainFrom > head-2 || r.recovery.recoveredOp >= head-1 {
		t.Fatalf("restarted at op %d from %d (uncertain %v, recovered op %d): want op %d certain, "+
			"trusted below op %d, abstaining below it", r.journal.op, r.journal.chainFrom, r.headUncertain,
			r.recovery.recoveredOp, head, head-1)
	}
	if r.journal.message(head) != nil || r.journal.message(head-1) != nil {
		t.Fatalf("ops %d and %d held with nothing on the disk", head-1, head)
	}
	for _, from := range []ReplicaIndex{0, 1} {
		h.handle(int(from), 2, h.encoder().StartViewChange(&StartViewChange{Replica: from, View: r.view + 1}))
	}
	dvcs := h.messages(2, int(h.config.primaryOf(r.view)), CommandDoViewChange)
	if len(dvcs) != 1 {
		t.Fatalf("r2 did not vote in view %d (from view %d): %s, sent %q", r.view, view, h.statusLine(2), h.sent(2))
	}
	d := h.decode(t, dvcs[0]).DoViewChange
	last := len(d.Headers) - 1
	if d.Op != head || d.Present&(1<<last) != 0 || d.Present&(1<<(last-1)) != 0 || d.RecoveredOp >= head-1 {
		t.Fatalf("voted op %d present %b recovered %d: want op %d, the last two not present, no abstention",
			d.Op, d.Present, d.RecoveredOp, head)
	}
	h.settle(t)
}

// An op the disk holds only as junk (header entry and prepare both unreadable, below the
// head: slotUnknown) may have been acknowledged. Its header sector, rewritten at the
// restart, keeps a junk entry there, and the next restart abstains on it again. (Without
// junkKept the rewrite blanks the entry, and the next restart takes the op for never
// written: a nack of what it acknowledged, seed 191.)
func TestOpenUnknownOpStaysUnknownAcrossRestarts(t *testing.T) {
	h := openCluster(t, 4)
	r2 := h.replica(2)
	op := r2.journal.op - 1
	h.crash(2)
	entry := headerEntry(h, 2, op)
	for k := range entry {
		entry[k] = 0xa5 // neither blank nor a header: slotHeaderCorrupt
	}
	h.storages[2].sector(ZonePrepares, uint64(op)*h.config.slotSectors())[HeaderSize+2] ^= 1
	r := h.reopen(2, false)
	if r.opened.decisions[slotUnknown] != 1 || r.recovery.recoveredOp < op {
		t.Fatalf("decisions %v, recovered op %d: want op %d unknown, abstained on", r.opened.decisions,
			r.recovery.recoveredOp, op)
	}
	for h.storages[2].step(r) > 0 { // the opening's writes land; nothing is delivered
	}
	if e := headerEntry(h, 2, op); e == nil || allZero(e) {
		t.Fatalf("op %d's header entry was blanked by the restart's rewrite of its sector", op)
	}
	h.crash(2)
	if r := h.reopen(2, false); r.recovery.recoveredOp < op {
		t.Fatalf("the next restart: recovered op %d, decisions %v: want op %d abstained on again",
			r.recovery.recoveredOp, r.opened.decisions, op)
	}
}

// A kept header (its prepare damaged at the restart) is on disk already: once repair makes
// the prepare durable, the op is durable, though its unchanged sector is not written again.
// (Without the check in verifiedPrepare the op never counts as durable and is never
// acknowledged: seed 56's pipeline stalled on such ops.)
func TestKeptHeaderDurableOnceItsPrepareIs(t *testing.T) {
	h := openCluster(t, 3)
	op := restartWithCorruptHead(t, h, 2)
	h.settle(t)
	r := h.replica(2)
	if e := r.journal.entry(op); !r.journal.held(op, e.header.Checksum) || !e.durable() {
		t.Fatalf("op %d after repair: held %v, prepare durable %v, durable %v", op, r.journal.message(op) != nil,
			e.prepareDurable, e.durable())
	}
}

// A replica that recovered from its peers abstains on the ops it may have acknowledged in
// the life it lost (recoveredOp); the root keeps that, so a restart from its new disk
// abstains on them still. (Without Recovered in the root, the restart finds those ops blank
// on its new disk and nacks them as never written: seed 298 truncated a committed op so.)
func TestRecoveredAbstentionOutlivesARestart(t *testing.T) {
	h := openCluster(t, 4)
	h.crash(2)
	h.restart(2) // an empty disk: it recovers from its peers
	h.settle(t)
	recovered := h.replica(2).recovery.recoveredOp
	if recovered == 0 || h.replica(2).root.Recovered != recovered {
		t.Fatalf("recovered op %d, root's %d: want the recovery's head, durable", recovered,
			h.replica(2).root.Recovered)
	}
	h.crash(2)
	if r := h.reopen(2, false); r.recovery.recoveredOp < recovered {
		t.Fatalf("restarted abstaining up to op %d: want %d at least", r.recovery.recoveredOp, recovered)
	}
}

// Above the installed head only ops of the log view itself are the log's: one of a later
// view came from a view the replica joined in memory only (its root never said so), and was
// never acknowledged. It is discarded, and the replica never acks it as its log view's.
// (Without the rule in openLog, seed 983455 acked an op of view 30 as a backup of view 26.)
func TestOpenDiscardsOpsOfALaterViewAboveTheHead(t *testing.T) {
	h := openCluster(t, 2)
	r2 := h.replica(2)
	head := r2.journal.op // the last op of view 0
	h.crash(0)            // the primary: view 1 starts, and prepares ops of its own
	h.settle(t)
	for k := 0; k < 2; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "later"}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	if r2 = h.replica(2); r2.view == 0 || r2.journal.op <= head || r2.journal.header(r2.journal.op).View == 0 {
		t.Fatalf("r2 %s: want ops of a later view above op %d", h.statusLine(2), head)
	}
	later := r2.journal.op
	h.crash(2)
	// Its root as if the views after 0 were joined in memory only.
	writeTestRoot(h, 2, installedRoot(rootState{Sequence: 50, View: 0, LogView: 0, Commit: head}, r2.journal, head))
	r := h.reopen(2, false)
	if r.journal.op != head || r.opened.discarded < int(later-head) {
		t.Fatalf("restarted at op %d, %d discarded: want op %d, the %d ops of the later view discarded",
			r.journal.op, r.opened.discarded, head, later-head)
	}
}

// A primary's prepares of two ops reached no backup; it crashed with the first one's write
// torn (blank on its disk) and the second's landed, and restarted with a log whose head
// sits above a hole. Its do_view_change is the best log, and no replica holds the hole's
// header: the new primary's chain from that head can never reach the commit. The two
// backups' logs end below the hole, a nack quorum: the hole is uncommitted, so is the op
// above it, and the new primary takes the log view's log ending below the hole from a
// backup's window. (Without truncateBelowHole the view change waits forever: swarm seed 755,
// FuzzCluster's seed 1.)
func TestViewChangeTruncatesAboveAHoleNobodyHolds(t *testing.T) {
	h := harnessRegistered(t, 3, 2, nil)
	base := twoUncommittedOps(t, h, CommandPrepare)
	if h.replica(0).journal.op != base+2 || h.replica(1).journal.op != base {
		t.Fatalf("primary at op %d, backup at op %d: want ops %d and %d on the primary alone",
			h.replica(0).journal.op, h.replica(1).journal.op, base+1, base+2)
	}
	h.crash(0)
	blankOnDisk(h, 0, base+1) // torn at the crash; base+2 landed
	h.heal()
	r0 := h.reopen(0, false)
	h.stabilize(20)
	if r0.journal.op != base+2 || r0.journal.known(base+1) {
		t.Fatalf("restarted at op %d, op %d known %v: want the head above a hole", r0.journal.op, base+1,
			r0.journal.known(base+1))
	}
	h.settle(t)
	for i := range h.replicas {
		r := h.replica(i)
		if r.status != StatusNormal || r.view == 0 || r.commitMin != h.replica(1).commitMin {
			t.Fatalf("replica %d %v in view %d at op %d: want every replica normal in a later view, caught up", i,
				r.status, r.view, r.commitMin)
		}
	}
}

// A header sector read from the wrong place can hold a stale image of itself (an earlier
// write of it that landed there, misdirected), whose empty entries name exactly this
// sector's ops: read so, every op of the sector looks never written. The opening reads
// every prepare slot of the ring's window, so the ops acknowledged are found by their
// prepares and kept. (Seed 1358: reading only the slots of non-blank entries, a primary
// dropped an op it had acknowledged, and the next view truncated it though it committed.)
func TestOpenStaleHeaderImageDropsNothing(t *testing.T) {
	h := openCluster(t, 20) // more ops than a pipeline above the last non-blank entry
	r2 := h.replica(2)
	head := r2.journal.op
	h.crash(2)
	stale := make([]byte, SectorSize) // sector 0 as written before any op was on disk
	for k := uint64(0); k < headersPerSector; k++ {
		writeEmptyEntry(stale[k*HeaderSize:(k+1)*HeaderSize], h.config.Cluster, Op(k))
	}
	clear(stale[:HeaderSize]) // op 0's entry: never written
	h.storages[2].sectors[memSector{zone: ZoneHeaders, sector: 3}] = stale
	misread := 0
	h.storages[2].misread = func(zone Zone, offset uint64) uint64 {
		if zone == ZoneHeaders && offset == 0 && misread == 0 {
			misread++
			return 3 * SectorSize
		}
		return offset
	}
	r := h.reopen(2, false)
	if misread != 1 || r.journal.op != head || r.opened.decisions[slotPrepareOnly] != int(head) {
		t.Fatalf("misread %d, head %d, decisions %v: want head %d, every op held by its prepare", misread,
			r.journal.op, r.opened.decisions, head)
	}
	h.settle(t)
}

// One power loss tears the same uncommitted op on both backups' disks while the op above it
// lands: both restart with a hole below their heads, their windows stop above it, and no
// log of the quorum ends below it. Each says in its do_view_change that its log lacks the
// op (DoViewChange.Missing): a nack quorum, so the hole and the op above it are
// uncommitted, and the new primary takes the log from its executed ops up to just below the
// hole, from its own entries. (Seed 109, whole-cluster crashes on, changed views forever.)
func TestViewChangeTruncatesAHoleOnEveryDisk(t *testing.T) {
	h := harnessRegistered(t, 3, 2, nil)
	base := twoUncommittedOps(t, h, CommandPrepareOk)
	for i := 1; i <= 2; i++ {
		if r := h.replica(i); r.journal.op != base+2 || r.commitMin != base {
			t.Fatalf("backup %d at op %d, executed %d: want ops %d and %d held, uncommitted", i, r.journal.op,
				r.commitMin, base+1, base+2)
		}
	}
	for i := 0; i < 3; i++ {
		h.crash(i)
	}
	blankOnDisk(h, 1, base+1) // torn on both backups at the power loss; base+2 landed
	blankOnDisk(h, 2, base+1)
	h.heal()
	r1, r2 := h.reopen(1, false), h.reopen(2, false)
	h.stabilize(20)
	if r1.journal.op != base+2 || r1.journal.known(base+1) || r2.journal.known(base+1) {
		t.Fatalf("restarted at op %d, op %d known %v, %v: want heads above a hole on both", r1.journal.op, base+1,
			r1.journal.known(base+1), r2.journal.known(base+1))
	}
	if ticks, ok := h.stabilize(2000); !ok && (r1.status != StatusNormal || r2.status != StatusNormal) {
		t.Fatalf("after %d ticks: %v and %v: want the two in a view, normal", ticks, r1.status, r2.status)
	}
	if r1.status != StatusNormal || r2.status != StatusNormal || r1.view == 0 || r1.journal.op != r2.journal.op {
		t.Fatalf("%v in view %d at op %d, %v at op %d: want both normal in a later view, one log", r1.status,
			r1.view, r1.journal.op, r2.status, r2.journal.op)
	}
}

// twoUncommittedOps has the primary, replica 0, prepare two ops (one request of each of
// clients 1 and 2) that never commit: with lost CommandPrepare, no backup gets them; with
// lost CommandPrepareOk, both backups hold them and the primary hears no acknowledgement.
// It returns the op below them.
func twoUncommittedOps(t *testing.T, h *harness, lost Command) Op {
	t.Helper()
	base := h.replica(0).journal.op
	if lost == CommandPrepare {
		h.cut(0, 1, []Command{lost})
		h.cut(0, 2, []Command{lost})
	} else {
		h.cut(1, 0, []Command{lost})
		h.cut(2, 0, []Command{lost})
	}
	for k := ClientID(1); k <= 2; k++ {
		if err := h.submit(k, KVInput{Op: KVPut, Key: "hole", Value: "uncommitted"}); err != nil {
			t.Fatal(err)
		}
		h.stabilize(3)
	}
	return base
}
