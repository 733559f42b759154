package entropy

import (
	"fmt"
	"math/rand/v2"
)

// Mode says how a byte string stands in for a run's random streams.
type Mode uint8

const (
	// ModeBytes is FromBytes: eight bytes a draw, then zeros. The zero Mode, so a byte string
	// recorded before modes existed means what it meant then.
	ModeBytes Mode = iota
	// ModeSteer is FromSteering: each byte steers one draw, then random streams continue.
	ModeSteer
	modeCount
)

var modeNames = [modeCount]string{"bytes", "steer"}

func (m Mode) String() string {
	if m < modeCount {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a mode by name; "" is ModeBytes.
func ParseMode(text string) (Mode, error) {
	if text == "" {
		return ModeBytes, nil
	}
	for m := Mode(0); m < modeCount; m++ {
		if modeNames[m] == text {
			return m, nil
		}
	}
	return 0, fmt.Errorf("entropy mode %q: want bytes or steer", text)
}

// FromSteering returns the factory of a steered run: the streams of FromSeed, from a root
// that mixes root with a hash of steer, except that the first len(steer) draws, counted
// across every component in call order, take their top byte from steer.
//
// It is the fuzzer's mode. With FromBytes a fuzzer's input is the whole run, so a short
// input is a calm run (zeros are the simplest choices) and a long one is slow to mutate and
// to minimise; here every input is a whole random run, however short, and its bytes steer
// the first decisions: a run's options are drawn first, so a few dozen bytes choose the
// cluster, its fault classes and their rates. A byte b puts its draw in the b-th 256th of
// the range (0x00 the simplest choice, 0xff the most), so a mutated byte moves one decision
// by a step the decision feels. Any change of steer changes the root, so a mutation keeps
// the steered decisions of its parent, not the rest of its run.
func FromSteering(root uint64, steer []byte) Factory {
	return steerFactory{root: mix64(root ^ hashBytes(steer)), cursor: &steerCursor{steer: steer}}
}

type steerFactory struct {
	root   uint64
	cursor *steerCursor // shared by every stream: the steering bytes go in call order
}

// Stream derives the component's stream as FromSeed does, from the steered root.
func (f steerFactory) Stream(component string) *Rand {
	tail := rand.NewPCG(mix64(f.root), componentKey(component))
	return New(&steeredSource{cursor: f.cursor, tail: tail})
}

type steerCursor struct {
	steer []byte
	used  int
}

// steeredSource draws from its component's PCG stream, with the top byte replaced while
// steering bytes remain. The stream advances on every draw, steered or not, so a component's
// later draws do not depend on how many of its draws were steered.
type steeredSource struct {
	cursor *steerCursor
	tail   *rand.PCG
}

func (s *steeredSource) Uint64() uint64 {
	draw := s.tail.Uint64()
	if c := s.cursor; c.used < len(c.steer) {
		draw = uint64(c.steer[c.used])<<56 | draw>>8
		c.used++
	}
	return draw
}

// hashBytes is FNV-1a over the bytes and their length, then mixed: distinct strings, zero
// padded or not, give distinct roots.
func hashBytes(data []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, b := range data {
		h ^= uint64(b)
		h *= 0x100000001b3
	}
	return mix64(h ^ uint64(len(data)))
}
