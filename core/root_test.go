package core

import (
	"testing"
)

const rootTestCluster = 0x5eed

func rootCopies(s rootState) [RootCopies][]byte {
	var out [RootCopies][]byte
	for i := range out {
		out[i] = encodeRoot(rootTestCluster, 2, i, &s)
	}
	return out
}

func readRoot(t *testing.T, sectors [RootCopies][]byte) (rootState, rootChoice) {
	t.Helper()
	var states [RootCopies]rootState
	var verdicts [RootCopies]rootVerdict
	for i := range sectors {
		states[i], verdicts[i] = decodeRoot(sectors[i], rootTestCluster, 2, i)
	}
	return chooseRoot(&states, &verdicts)
}

func TestRootRoundTrip(t *testing.T) {
	s := rootState{Sequence: 7, View: 12, LogView: 9, Commit: 345, Head: 350,
		HeadChecksum: Checksum{Lo: 0x1234, Hi: 0x5678}}
	for i, b := range rootCopies(s) {
		got, verdict := decodeRoot(b, rootTestCluster, 2, i)
		if verdict != rootValid || got != s {
			t.Fatalf("copy %d: %v %+v, want %+v", i, verdict, got, s)
		}
	}
}

// The root's window round-trips too, full: a copy holds rootWindowMax headers of the log
// it installed, chained and ending at its head.
func TestRootRoundTripWindow(t *testing.T) {
	h := harnessRegistered(t, 3, 1, nil)
	for k := 0; k < rootWindowMax+2; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: string(rune('a' + k%26))}); err != nil {
			t.Fatal(err)
		}
		h.settle(t)
	}
	j := h.replica(0).journal
	var headers []PrepareHeader
	for op := Op(1); op <= j.op; op++ {
		headers = append(headers, *j.header(op))
	}
	s := rootState{Sequence: 7, View: 12, LogView: 9, Commit: j.op, Head: j.op, HeadChecksum: j.header(j.op).Checksum}
	s.setWindow(headers)
	if s.WindowLen != rootWindowMax || s.window()[0].Op != j.op-rootWindowMax+1 {
		t.Fatalf("window of %d headers from op %d: want the last %d", s.WindowLen, s.window()[0].Op, rootWindowMax)
	}
	for i, b := range rootCopies(s) {
		got, verdict := decodeRoot(b, rootTestCluster, 2, i)
		if verdict != rootValid || got != s {
			t.Fatalf("copy %d: %v, window of %d: want the state written", i, verdict, got.WindowLen)
		}
	}
}

// TestRootVerdicts: every way a copy can be wrong is told apart from a valid one.
func TestRootVerdicts(t *testing.T) {
	s := rootState{Sequence: 3, View: 4, LogView: 4, Commit: 10, Head: 8, HeadChecksum: Checksum{Lo: 1}}
	good := encodeRoot(rootTestCluster, 2, 1, &s)
	check := func(name string, b []byte, copy int, want rootVerdict) {
		t.Helper()
		if _, got := decodeRoot(b, rootTestCluster, 2, copy); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("as written", good, 1, rootValid)
	check("never written", make([]byte, SectorSize), 1, rootBlank)
	// Every bit of the sector, flipped alone (bit rot), fails the checksum.
	for bit := 0; bit < SectorSize*8; bit += 61 {
		b := append([]byte(nil), good...)
		b[bit/8] ^= 1 << (bit % 8)
		check("a flipped bit", b, 1, rootCorrupt)
	}
	// A torn write: the sector's first half new, the rest of an older copy.
	older := encodeRoot(rootTestCluster, 2, 1, &rootState{Sequence: 2, View: 3, LogView: 3, HeadChecksum: Checksum{Hi: 1}})
	torn := append(append([]byte(nil), good[:32]...), older[32:]...)
	check("torn", torn, 1, rootCorrupt)
	check("another copy's, misdirected here", good, 3, rootMisdirected)
	other := encodeRoot(rootTestCluster, 1, 1, &s)
	check("another replica's", other, 1, rootMisdirected)
	check("another cluster's", encodeRoot(rootTestCluster+1, 2, 1, &s), 1, rootMisdirected)
}

// TestRootChoice: the newest valid copy wins; a disk never written is told apart from one
// whose root is lost.
func TestRootChoice(t *testing.T) {
	old := rootState{Sequence: 5, View: 6, LogView: 6, Commit: 40, Head: 38, HeadChecksum: Checksum{Lo: 2}}
	newer := rootState{Sequence: 6, View: 7, LogView: 7, Commit: 41, Head: 41, HeadChecksum: Checksum{Lo: 3}}
	blank := make([]byte, SectorSize)
	garbage := make([]byte, SectorSize)
	garbage[100] = 1
	o, n := rootCopies(old), rootCopies(newer)

	cases := []struct {
		name    string
		sectors [RootCopies][]byte
		want    rootState
		choice  rootChoice
	}{
		{"all new", n, newer, rootFound},
		{"all old", o, old, rootFound},
		// A crash while writing copy 2 of the new state: 0 and 1 new, 2 torn, 3 old.
		{"torn mid-update", [RootCopies][]byte{n[0], n[1], garbage, o[3]}, newer, rootFound},
		// A crash while writing copy 0: only old copies are intact.
		{"torn at the first copy", [RootCopies][]byte{garbage, o[1], o[2], o[3]}, old, rootFound},
		// Copy 1's write landed on copy 3: 1 keeps the old state, 3 holds copy 1's bytes.
		{"misdirected", [RootCopies][]byte{n[0], o[1], n[2], n[1]}, newer, rootFound},
		{"one rotten, rest old", [RootCopies][]byte{o[0], garbage, o[2], o[3]}, old, rootFound},
		{"never written", [RootCopies][]byte{blank, blank, blank, blank}, rootState{}, rootNone},
		{"lost", [RootCopies][]byte{garbage, blank, garbage, blank}, rootState{}, rootLost},
		{"all misdirected", [RootCopies][]byte{n[1], n[0], n[3], n[2]}, rootState{}, rootLost},
	}
	for _, c := range cases {
		got, choice := readRoot(t, c.sectors)
		if got != c.want || choice != c.choice {
			t.Errorf("%s: %+v (%v), want %+v (%v)", c.name, got, choice, c.want, c.choice)
		}
	}
}

// TestRootPairsSurviveACrashAndAFault: a state is durable once both copies of its pair are
// written. Whatever a crash does to the pair being written next, and whichever one copy a
// fault then rots, the durable state (or a newer one) is what start-up chooses.
func TestRootPairsSurviveACrashAndAFault(t *testing.T) {
	garbage := make([]byte, SectorSize)
	garbage[7] = 1
	for sequence := uint64(2); sequence <= 5; sequence++ {
		state := func(s uint64) rootState {
			return rootState{Sequence: s, View: View(s), LogView: View(s), Head: Op(s), HeadChecksum: Checksum{Lo: s}}
		}
		durable, before, next := state(sequence), state(sequence-1), state(sequence+1)
		var sectors [RootCopies][]byte
		for _, s := range []rootState{before, durable} {
			for _, copy := range rootPair(s.Sequence) {
				sectors[copy] = encodeRoot(rootTestCluster, 2, copy, &s)
			}
		}
		pair := rootPair(next.Sequence)
		if pair == rootPair(durable.Sequence) {
			t.Fatalf("sequences %d and %d share a pair", durable.Sequence, next.Sequence)
		}
		// The crash: each copy of the next state's pair torn (garbage) or written.
		for tear := 0; tear < 4; tear++ {
			crashed := sectors
			for i, copy := range pair {
				if tear&(1<<i) != 0 {
					crashed[copy] = garbage
				} else {
					crashed[copy] = encodeRoot(rootTestCluster, 2, copy, &next)
				}
			}
			// Then one copy rots, any of them (or none).
			for rot := -1; rot < RootCopies; rot++ {
				faulted := crashed
				if rot >= 0 {
					faulted[rot] = append([]byte(nil), faulted[rot]...)
					faulted[rot][200] ^= 1
				}
				got, choice := readRoot(t, faulted)
				if choice != rootFound || got.Sequence < durable.Sequence {
					t.Fatalf("sequence %d, tear %b, rot %d: chose %+v (%v), want %d or newer",
						sequence, tear, rot, got, choice, durable.Sequence)
				}
			}
		}
	}
}
