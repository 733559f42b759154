package simnet

import "encoding/binary"

// EventKind names what happened to a packet or to the network.
type EventKind uint8

const (
	EventSent EventKind = iota + 1
	EventDelivered
	EventDropped
	EventDuplicated
	EventCorrupted
	EventMisrouted
	EventPartitioned // Source: the side mask's low bits; Target: 1 if asymmetric
	EventHealed
	EventClogged // Source, Target: the link; Ticks: how long
)

var eventKindNames = [...]string{"", "sent", "delivered", "dropped", "duplicated",
	"corrupted", "misrouted", "partitioned", "healed", "clogged"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "event?"
}

// DropReason says why a packet was dropped.
type DropReason uint8

const (
	DropNone      DropReason = iota
	DropLoss                 // the loss fault
	DropPartition            // source and target are on sides that cannot talk
	DropDown                 // the target is down
	DropOverflow             // the link was at capacity
)

var dropReasonNames = [...]string{"", "loss", "partition", "down", "overflow"}

func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) {
		return dropReasonNames[r]
	}
	return "reason?"
}

// Event is one thing the network did, for the trace. Size is the packet's length; Head its
// first eight bytes, a fingerprint of the contents (messages lead with their checksum);
// Ticks is a delay or a duration where the kind has one; Actual is where a misrouted packet
// went. Data is the packet's bytes, valid only during the observer's call.
type Event struct {
	Kind   EventKind
	Reason DropReason
	Source Process
	Target Process
	Actual Process
	Size   int
	Head   uint64
	Ticks  uint64
	Data   []byte
}

// head returns the first eight bytes of a packet, zero-padded.
func head(data []byte) uint64 {
	if len(data) >= 8 {
		return binary.LittleEndian.Uint64(data)
	}
	var word [8]byte
	copy(word[:], data)
	return binary.LittleEndian.Uint64(word[:])
}

// Stats counts everything the network did. Dropped counts every drop, whatever the reason;
// the Dropped* fields split it.
type Stats struct {
	Sent       uint64 `json:"sent"`
	Delivered  uint64 `json:"delivered"`
	Dropped    uint64 `json:"dropped"`
	Duplicated uint64 `json:"duplicated"`
	Corrupted  uint64 `json:"corrupted"`
	Misrouted  uint64 `json:"misrouted"`
	Partitions uint64 `json:"partitions"`
	Clogs      uint64 `json:"clogs"`

	DroppedLoss      uint64 `json:"dropped_loss"`
	DroppedPartition uint64 `json:"dropped_partition"`
	DroppedDown      uint64 `json:"dropped_down"`
	DroppedOverflow  uint64 `json:"dropped_overflow"`
}
