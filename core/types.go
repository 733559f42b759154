package core

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/xxh3"
)

// Protocol numbers have their own types, so a view can never be passed as an op.
type (
	View          uint64 // a view number; the primary of view v is replica v mod R
	Op            uint64 // an op number: the position of a prepare in the log; 0 is the root
	ReplicaIndex  uint8  // a replica's index in the cluster, 0 ≤ i < R
	ClientID      uint64 // a client's identity, random and nonzero
	RequestNumber uint32 // a client's request counter within a session; 0 is the register
	Session       uint64 // the op at which a client's session was registered
)

// Checksum is a 128-bit xxh3 hash: of a header (its identity) or of a body.
type Checksum struct {
	Lo, Hi uint64
}

// IsZero reports whether c is the zero checksum, which no message has in practice.
func (c Checksum) IsZero() bool { return c.Lo == 0 && c.Hi == 0 }

// String renders the first 8 bytes, enough to tell checksums apart in a trace.
func (c Checksum) String() string { return fmt.Sprintf("%016x", c.Hi) }

func checksumOf(data []byte) Checksum {
	h := xxh3.Hash128(data)
	return Checksum{Lo: h.Lo, Hi: h.Hi}
}

func (c Checksum) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], c.Lo)
	binary.LittleEndian.PutUint64(b[8:], c.Hi)
}

func getChecksum(b []byte) Checksum {
	return Checksum{Lo: binary.LittleEndian.Uint64(b[0:]), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// Status is a replica's role in the protocol (VRR §4).
type Status uint8

const (
	StatusNormal Status = iota
	StatusViewChange
	StatusRecovering
	StatusOpening // reading its disk back at start-up (open.go)
)

func (s Status) String() string {
	switch s {
	case StatusNormal:
		return "normal"
	case StatusViewChange:
		return "view_change"
	case StatusRecovering:
		return "recovering"
	case StatusOpening:
		return "opening"
	}
	return fmt.Sprintf("status(%d)", s)
}
