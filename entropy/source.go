package entropy

import (
	"encoding/binary"
	"math/rand/v2"
)

// Source is the one interface every random decision goes through: raw 64-bit draws.
type Source interface {
	Uint64() uint64
}

// Factory hands out one stream per named component.
type Factory interface {
	Stream(component string) *Rand
}

// FromSeed returns a factory of independent PCG streams, one per component, all derived
// from root. Asking twice for the same component gives two streams with the same sequence.
func FromSeed(root uint64) Factory { return seedFactory{root: root} }

type seedFactory struct{ root uint64 }

func (f seedFactory) Stream(component string) *Rand {
	return New(rand.NewPCG(mix64(f.root), componentKey(component)))
}

// FromBytes returns a factory whose streams all read, in call order, from one shared byte
// string. The run is single-threaded, so the interleaving of reads is itself deterministic.
func FromBytes(data []byte) Factory {
	return &bytesFactory{rand: New(&ByteSource{data: data})}
}

type bytesFactory struct{ rand *Rand }

func (f *bytesFactory) Stream(string) *Rand { return f.rand }

// ByteSource reads draws from a byte string, eight bytes at a time (little endian; a short
// tail is zero-padded). Once the string is used up every draw is zero.
type ByteSource struct {
	data []byte
	used int
}

func (s *ByteSource) Uint64() uint64 {
	if s.used >= len(s.data) {
		return 0
	}
	var word [8]byte
	n := copy(word[:], s.data[s.used:])
	s.used += n
	return binary.LittleEndian.Uint64(word[:])
}

// Used reports how many bytes the run consumed: a shrinker cuts the string there.
func (s *ByteSource) Used() int { return s.used }
