package core

import (
	"testing"
)

// slotTestPrepare seals a prepare of op in view with a batch of count requests, and returns its bytes padded
// to whole sectors and its header.
func slotTestPrepare(t *testing.T, op Op, view View, count int) ([]byte, PrepareHeader) {
	t.Helper()
	enc := NewEncoder(codecCluster)
	h := PrepareHeader{Replica: ReplicaIndex(uint64(view) % codecReplicas), View: view, Op: op, Commit: op - 1,
		Parent: Checksum{Lo: uint64(op), Hi: 1}, Timestamp: 1, Requests: uint32(count)}
	message := append([]byte(nil), enc.Prepare(&h, codecBatch(count))...)
	dec := NewDecoder(codecCluster, codecReplicas)
	if c, err := dec.Decode(message); err != nil || c != CommandPrepare {
		t.Fatalf("the test prepare does not decode: %v", err)
	}
	padded := make([]byte, (len(message)+SectorSize-1)/SectorSize*SectorSize)
	copy(padded, message)
	return padded, dec.Prepare.PrepareHeader
}

// TestDecideSlotRows is the decision table, one case a row: what a slot is read back as,
// and what the replica must make of it.
func TestDecideSlotRows(t *testing.T) {
	const op = 9
	_, h3 := slotTestPrepare(t, op, 3, 1)
	_, h5 := slotTestPrepare(t, op, 5, 1)
	_, h3b := slotTestPrepare(t, op, 3, 2)
	none := PrepareHeader{}
	rows := []struct {
		name       string
		header     slotHeader
		fromHeader PrepareHeader
		prepare    slotPrepare
		fromPrep   PrepareHeader
		want       slotDecision
		wantHeader PrepareHeader
	}{
		{"blank, blank: never written", slotHeaderBlank, none, slotPrepareBlank, none, slotEmpty, none},
		{"blank header, valid prepare: crash between the writes", slotHeaderBlank, none, slotPrepareValid, h3, slotPrepareOnly, h3},
		{"blank header, another op's prepare: misdirected here, never acked", slotHeaderBlank, none, slotPrepareOther, none, slotEmpty, none},
		{"blank header, corrupt prepare: torn before its header, never acked", slotHeaderBlank, none, slotPrepareCorrupt, none, slotEmpty, none},
		{"valid header, its prepare: intact", slotHeaderValid, h3, slotPrepareValid, h3, slotIntact, h3},
		{"valid header, newer prepare: replaced, crash before the header", slotHeaderValid, h3, slotPrepareValid, h5, slotPrepareOnly, h5},
		{"valid header, older prepare: the newer prepare's write was lost", slotHeaderValid, h5, slotPrepareValid, h3, slotDamaged, h5},
		{"valid header, another prepare of its view: trust neither", slotHeaderValid, h3, slotPrepareValid, h3b, slotUnknown, none},
		{"valid header, blank prepare: the prepare's write was lost", slotHeaderValid, h3, slotPrepareBlank, none, slotDamaged, h3},
		{"valid header, another op's prepare: overwritten by a misdirected write", slotHeaderValid, h3, slotPrepareOther, none, slotDamaged, h3},
		{"valid header, corrupt prepare: rot or a latent error, maybe acked", slotHeaderValid, h3, slotPrepareCorrupt, none, slotDamaged, h3},
		{"another op's header, valid prepare", slotHeaderOther, none, slotPrepareValid, h3, slotPrepareOnly, h3},
		{"another op's header, blank prepare: no header was ever written for it", slotHeaderOther, none, slotPrepareBlank, none, slotEmpty, none},
		{"another op's header, another op's prepare", slotHeaderOther, none, slotPrepareOther, none, slotUnknown, none},
		{"another op's header, corrupt prepare", slotHeaderOther, none, slotPrepareCorrupt, none, slotUnknown, none},
		{"corrupt header, valid prepare: the prepare proves itself", slotHeaderCorrupt, none, slotPrepareValid, h3, slotPrepareOnly, h3},
		{"corrupt header, blank prepare: no header was ever written for it", slotHeaderCorrupt, none, slotPrepareBlank, none, slotEmpty, none},
		{"corrupt header, another op's prepare", slotHeaderCorrupt, none, slotPrepareOther, none, slotUnknown, none},
		{"corrupt header, corrupt prepare", slotHeaderCorrupt, none, slotPrepareCorrupt, none, slotUnknown, none},
	}
	seen := map[[2]uint8]bool{}
	for _, row := range rows {
		s := slotRead{op: op, header: row.header, prepare: row.prepare, fromHeader: row.fromHeader, fromPrepare: row.fromPrep}
		got, header := decideSlot(&s)
		if got != row.want || header != row.wantHeader {
			t.Errorf("%s: %v (header of view %d), want %v (view %d)", row.name, got, header.View, row.want, row.wantHeader.View)
		}
		seen[[2]uint8{uint8(row.header), uint8(row.prepare)}] = true
	}
	// Every combination of what the two places can hold has a row.
	for h := slotHeaderBlank; h <= slotHeaderCorrupt; h++ {
		for p := slotPrepareBlank; p <= slotPrepareCorrupt; p++ {
			if !seen[[2]uint8{uint8(h), uint8(p)}] {
				t.Errorf("no row for header %d, prepare %d", h, p)
			}
		}
	}
}

// TestReadSlotClassifies: the bytes a slot holds, read back, are classified as the table
// expects: a whole prepare, a blank, another op's, and every kind of damage.
func TestReadSlotClassifies(t *testing.T) {
	const op = 9
	prepare, header := slotTestPrepare(t, op, 3, 3)
	other, otherHeader := slotTestPrepare(t, op+1, 3, 4)
	dec := NewDecoder(codecCluster, codecReplicas)
	flip := func(b []byte, at int) []byte {
		out := append([]byte(nil), b...)
		out[at] ^= 0x04
		return out
	}
	prepares := []struct {
		name string
		b    []byte
		want slotPrepare
	}{
		{"its prepare", prepare, slotPrepareValid},
		{"blank", make([]byte, SectorSize), slotPrepareBlank},
		{"another op's", other, slotPrepareOther},
		{"unreadable", nil, slotPrepareCorrupt},
		{"a flipped header bit", flip(prepare, 70), slotPrepareCorrupt},
		{"a flipped body bit", flip(prepare, HeaderSize+2), slotPrepareCorrupt},
		{"torn: the first sector new, the second never written", func() []byte {
			big, _ := slotTestPrepare(t, op, 3, 100)
			if len(big) < 2*SectorSize {
				t.Fatalf("a prepare of 100 requests fits %d bytes", len(big))
			}
			clear(big[SectorSize:])
			return big
		}(), slotPrepareCorrupt},
		{"garbage after zeros", flip(make([]byte, SectorSize), 3000), slotPrepareCorrupt},
	}
	for _, c := range prepares {
		got, h := readSlotPrepare(dec, c.b, op, JournalSlotsDefault)
		if got != c.want {
			t.Errorf("prepare %s: %v, want %v", c.name, got, c.want)
		}
		if got == slotPrepareValid && h != header || got == slotPrepareOther && h != otherHeader {
			t.Errorf("prepare %s: header %+v", c.name, h)
		}
	}
	headers := []struct {
		name string
		b    []byte
		want slotHeader
	}{
		{"its header", prepare[:HeaderSize], slotHeaderValid},
		{"blank", make([]byte, HeaderSize), slotHeaderBlank},
		{"another op's", other[:HeaderSize], slotHeaderOther},
		{"unreadable", nil, slotHeaderCorrupt},
		{"a flipped bit", flip(prepare[:HeaderSize], 100), slotHeaderCorrupt},
		{"another cluster's", func() []byte {
			p, _ := slotTestPrepare(t, op, 3, 3)
			b := append([]byte(nil), p[:HeaderSize]...)
			return codecPatch(t, b, func(w *wire) { w.cluster++ })
		}(), slotHeaderCorrupt},
	}
	for _, c := range headers {
		got, h := readSlotHeader(c.b, codecCluster, op, JournalSlotsDefault)
		if got != c.want {
			t.Errorf("header %s: %v, want %v", c.name, got, c.want)
		}
		if got == slotHeaderValid && h != header {
			t.Errorf("header %s: %+v, want %+v", c.name, h, header)
		}
	}
}
