package entropy

import "testing"

// The first draws of a steered run are pinned, as the seed's are (TestGoldenStream): a
// fuzzer's corpus entry must replay the run it was found in.
func TestGoldenSteeredStream(t *testing.T) {
	f := FromSteering(42, []byte{0x00, 0xff, 0x80})
	a, b := f.Stream("options"), f.Stream("simnet")
	got := []uint64{a.Uint64(), b.Uint64(), a.Uint64(), a.Uint64(), b.IntN(1000)}
	want := []uint64{0x7fb570edf40012, 0xfff1e214bd5796bc, 0x80662d7c982c1d73,
		0xa33dd778d0470ed6, 0x35c}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("draw %d = %#x, want %#x (all: %#x)", i, got[i], want[i], got)
		}
	}
}

// Each steering byte is the top byte of one draw, in call order across components, and a
// decision of n choices lands in the byte's 256th of them.
func TestSteeringBytesSteerTheFirstDraws(t *testing.T) {
	steer := []byte{7, 200, 0, 255, 128}
	f := FromSteering(1, steer)
	streams := []*Rand{f.Stream("a"), f.Stream("b"), f.Stream("a")}
	for i, b := range steer {
		if got := streams[i%len(streams)].IntN(256); got != uint64(b) {
			t.Errorf("draw %d: IntN(256) = %d, want the steering byte %d", i, got, b)
		}
	}
	// Past the steering, draws are the component's random stream: not all in one 256th.
	r := f.Stream("c")
	seen := map[uint64]bool{}
	for i := 0; i < 64; i++ {
		seen[r.IntN(256)] = true
	}
	if len(seen) < 32 {
		t.Errorf("after the steering bytes, 64 draws took %d values of 256", len(seen))
	}
}

// Every input is its own run: the root mixes in the bytes, the empty string included.
func TestSteeredRunsDiffer(t *testing.T) {
	inputs := [][]byte{nil, {0}, {0, 0}, {1}, []byte("vsrsim")}
	firsts := map[uint64]int{}
	for i, in := range inputs {
		r := FromSteering(5, in).Stream("x")
		for range in {
			r.Uint64()
		}
		firsts[r.Uint64()] = i
	}
	if len(firsts) != len(inputs) {
		t.Fatalf("%d inputs gave %d distinct first unsteered draws", len(inputs), len(firsts))
	}
	x, y := FromSteering(5, []byte{9}).Stream("x"), FromSteering(5, []byte{9}).Stream("x")
	for i := 0; i < 10; i++ {
		if x.Uint64() != y.Uint64() {
			t.Fatalf("the same input gave different draw %d", i)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeBytes, ModeSteer} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if m, err := ParseMode(""); err != nil || m != ModeBytes {
		t.Errorf(`ParseMode("") = %v, %v: want bytes, what entries without a mode mean`, m, err)
	}
	if _, err := ParseMode("steered"); err == nil {
		t.Error("an unknown mode parsed")
	}
}
