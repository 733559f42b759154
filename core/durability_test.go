package core

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

// Every acknowledgement waits for durability (durability.go). These tests withhold a
// replica's write completions and show what does not leave until they are released.

// eventsSince describes a storage's issues and completions after mark, one a word.
func eventsSince(s *memStorage, mark int) string {
	var out []string
	for _, e := range s.events[mark:] {
		out = append(out, e.String())
	}
	return strings.Join(out, ", ")
}

func TestDurabilityPrepareOkWaitsForPrepareThenHeader(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r1, s1 := h.replica(1), h.storages[1]
	s1.withhold = true
	mark := len(s1.events)
	if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(h.clientNode(1), 0, nil, 0)
	h.deliver(0, 1, []Command{CommandPrepare}, 0)
	op := r1.journal.op
	if !r1.journal.held(op, r1.journal.header(op).Checksum) {
		t.Fatalf("r1 did not take the prepare: %s", h.statusLine(1))
	}
	slot := uint64(op) * r1.config.slotSectors()
	sector := uint64(op) / headersPerSector
	// Only the prepare is written: its header waits for it.
	if got, want := eventsSince(s1, mark), "issue prepares@"+itoa(slot); got != want {
		t.Fatalf("r1 wrote %q, want %q", got, want)
	}
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 0 {
		t.Fatalf("r1 acknowledged op %d before writing it: %q", op, h.sent(1))
	}
	s1.completeNext(r1)
	// The prepare is read back before its header is written (verified prepare writes).
	want := "issue prepares@" + itoa(slot) + ", done prepares@" + itoa(slot) + ", issue read prepares@" + itoa(slot)
	if got := eventsSince(s1, mark); got != want {
		t.Fatalf("r1 wrote %q, want %q", got, want)
	}
	s1.completeNext(r1)
	want += ", done read prepares@" + itoa(slot) + ", issue headers@" + itoa(sector)
	if got := eventsSince(s1, mark); got != want {
		t.Fatalf("r1 wrote %q, want %q", got, want)
	}
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 0 || r1.journal.entry(op).durable() {
		t.Fatalf("r1 acknowledged op %d before writing its header: %q", op, h.sent(1))
	}
	s1.completeNext(r1)
	// The header sector is written; it counts once read back (verified header writes).
	want += ", done headers@" + itoa(sector) + ", issue read headers@" + itoa(sector)
	if got := eventsSince(s1, mark); got != want {
		t.Fatalf("r1 wrote %q, want %q", got, want)
	}
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 0 || r1.journal.entry(op).durable() {
		t.Fatalf("r1 acknowledged op %d before reading its header sector back: %q", op, h.sent(1))
	}
	s1.completeNext(r1)
	acks := h.messages(1, 0, CommandPrepareOk)
	if len(acks) != 1 || h.decode(t, acks[0]).PrepareOk.Op != op || !r1.journal.entry(op).durable() {
		t.Fatalf("r1 did not acknowledge op %d once it was durable: %q", op, h.sent(1))
	}
	// The header sector holds the prepare's own first HeaderSize bytes.
	k := int(uint64(op) % headersPerSector)
	got := s1.sector(ZoneHeaders, sector)[k*HeaderSize : (k+1)*HeaderSize]
	if string(got) != string(r1.journal.message(op)[:HeaderSize]) {
		t.Fatalf("header sector %d slot %d is not the prepare's header", sector, k)
	}
}

func TestDurabilityRetransmittedPrepareIsNotAckedBeforeItsWrites(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r1, s1 := h.replica(1), h.storages[1]
	s1.withhold = true
	if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(h.clientNode(1), 0, nil, 0)
	if _, ok := h.duplicate(0, 1, []Command{CommandPrepare}); !ok {
		t.Fatal("no prepare to r1 in flight")
	}
	h.deliver(0, 1, []Command{CommandPrepare}, 0) // the prepare, then its retransmission
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 0 {
		t.Fatalf("r1 acknowledged a retransmission before writing it: %q", h.sent(1))
	}
	s1.release(r1)
	if acks := h.messages(1, 0, CommandPrepareOk); len(acks) != 1 {
		t.Fatalf("r1 sent %d prepare_oks once durable, want 1: %q", len(acks), h.sent(1))
	}
}

func TestDurabilityPrimaryCountsItselfOnlyWhenDurable(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r0, s0 := h.replica(0), h.storages[0]
	s0.withhold = true
	h.storages[2].withhold = true // r1's ack and the primary's own make the quorum
	commit := r0.commitMax
	if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "w"}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if r0.commitMax != commit || r0.journal.op != commit+1 {
		t.Fatalf("r0 committed op %d with one durable copy (r1's): %s", r0.commitMax, h.statusLine(0))
	}
	if r0.primary.pipeline[0].acks != replicaSet(0).with(1) {
		t.Fatalf("r0 counted acks %b, want r1's alone", r0.primary.pipeline[0].acks)
	}
	s0.release(r0)
	if r0.commitMax != commit+1 {
		t.Fatalf("r0 did not commit op %d once its own copy was durable: %s", commit+1, h.statusLine(0))
	}
}

func TestDurabilityDoViewChangeWaitsForItsRoot(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r2, s2 := h.replica(2), h.storages[2]
	s2.withhold = true
	patience := r2.timer(timeoutPrimary)
	h.tickNode(2, int(patience.after-patience.ticks))
	if r2.status != StatusViewChange || r2.view != 1 {
		t.Fatalf("r2 did not start a view change: %s", h.statusLine(2))
	}
	h.handle(0, 2, h.encoder().StartViewChange(&StartViewChange{Replica: 0, View: 1}))
	if !r2.viewChange.dvcSent {
		t.Fatalf("r2 has no view-change quorum: %s", h.statusLine(2))
	}
	if dvcs := h.messages(2, 1, CommandDoViewChange); len(dvcs) != 0 || r2.root.View == 1 {
		t.Fatalf("r2 sent do_view_change for view 1 before its root held view 1: %q", h.sent(2))
	}
	// One copy of the root is not the root: it is durable once both copies of its pair
	// (rootPair) are.
	if done := s2.completeNext(r2); done.zone != ZoneRoot {
		t.Fatalf("the first write r2 completed is %v, want a root copy", done)
	}
	if dvcs := h.messages(2, 1, CommandDoViewChange); len(dvcs) != 0 {
		t.Fatalf("r2 sent do_view_change with one copy of its root's pair written")
	}
	s2.completeNext(r2)
	dvcs := h.messages(2, 1, CommandDoViewChange)
	if len(dvcs) != 1 || r2.root.View != 1 || r2.root.LogView != 0 {
		t.Fatalf("r2 did not send do_view_change once its root held view 1: %q", h.sent(2))
	}
	if d := h.decode(t, dvcs[0]).DoViewChange; d.View != 1 || d.LogView != 0 {
		t.Fatalf("do_view_change of view %d, log view %d", d.View, d.LogView)
	}
}

func TestDurabilityStartViewWaitsForItsRoot(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	r1, s1 := h.replica(1), h.storages[1]
	for _, i := range []int{1, 2} {
		patience := h.replica(i).timer(timeoutPrimary)
		h.tickNode(i, int(patience.after-patience.ticks))
	}
	s1.withhold = true
	h.deliver(-1, -1, []Command{CommandStartViewChange}, 0)
	h.storages[1].release(r1) // the root of view 1, log view 0: r1 records its own vote
	s1.withhold = true
	h.drain()
	if r1.status != StatusNormal || r1.view != 1 || !r1.isPrimary() {
		t.Fatalf("r1 did not start view 1: %s", h.statusLine(1))
	}
	// Everything in flight was delivered: a start_view sent would have made r2 normal.
	if r2 := h.replica(2); r2.status == StatusNormal && r2.view == 1 {
		t.Fatalf("r1 sent start_view before its root held view 1 as its log view: %s", h.statusLine(2))
	}
	s1.release(r1)
	if svs := h.messages(1, -1, CommandStartView); len(svs) != 2 || !r1.rootNormal() {
		t.Fatalf("r1 sent %d start_views once its root was durable, want 2: %q", len(svs), h.sent(1))
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// recordingBus keeps what a replica sends, by command.
type recordingBus struct{ sent []Command }

func (b *recordingBus) SendToReplica(_ ReplicaIndex, m []byte) {
	b.sent = append(b.sent, Command(m[60]))
}
func (b *recordingBus) SendToClient(_ ClientID, m []byte) { b.sent = append(b.sent, Command(m[60])) }

// Before its first root is durable a replica of view 0 prepares nothing: crashed then, it
// would restart fresh (it promised nothing) and prepare another op at the same number in
// the same view. (Seed 1397, whole-cluster crashes on: the zero root read as normal in view
// 0, the primary prepared op 1, crashed with its root in flight, restarted fresh and
// prepared another op 1, which a backup acknowledged over the committed one.)
func TestNoPrepareBeforeTheFirstRoot(t *testing.T) {
	config := harnessConfig(3)
	storage := newMemStorage()
	storage.withhold = true
	bus := &recordingBus{}
	r := NewReplica(config, 0, NewKV(), bus, &harnessClock{}, entropy.FromSeed(1).Stream("r"), storage, false)
	register := Request{Client: 7, Operation: OperationRegister}
	r.Receive(append([]byte(nil), NewEncoder(config.Cluster).Request(&register)...))
	for _, c := range bus.sent {
		if c == CommandPrepare {
			t.Fatal("a prepare left before the first root was durable")
		}
	}
	if r.rootNormal() || r.root.Sequence != 0 {
		t.Fatalf("root sequence %d, normal %v: want no root yet", r.root.Sequence, r.rootNormal())
	}
	storage.withhold = false
	storage.release(r)
	prepared := false
	for _, c := range bus.sent {
		prepared = prepared || c == CommandPrepare
	}
	if !prepared || r.journal.op != 1 {
		t.Fatalf("after the root: prepared %v, op %d: want the waiting register prepared", prepared, r.journal.op)
	}
}
