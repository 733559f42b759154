package entropy

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// ParseSeed reads a root seed: a decimal uint64, or a 40-hex git commit SHA (CI runs the
// commit under test as its seed). A SHA folds into 64 bits; the same SHA always gives the
// same seed.
func ParseSeed(text string) (uint64, error) {
	if len(text) == 40 && isHex(text) {
		raw, err := hex.DecodeString(strings.ToLower(text))
		if err != nil {
			return 0, fmt.Errorf("seed %q: %v", text, err)
		}
		var seed uint64
		for i := 0; i < 40; i += 8 {
			var word [8]byte
			copy(word[:], raw[i/2:])
			seed = mix64(seed ^ binary.LittleEndian.Uint64(word[:]))
		}
		return seed, nil
	}
	seed, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q is neither a decimal uint64 nor a 40-hex commit SHA", text)
	}
	return seed, nil
}

func isHex(text string) bool {
	for _, c := range text {
		ok := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		if !ok {
			return false
		}
	}
	return true
}

// mix64 is the SplitMix64 finaliser: a bijection that spreads every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// componentKey hashes a component's name (FNV-1a, then mixed) into a stream selector.
func componentKey(component string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(component); i++ {
		h ^= uint64(component[i])
		h *= 0x100000001b3
	}
	return mix64(h)
}
