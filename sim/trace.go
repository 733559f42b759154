package sim

import (
	"bufio"
	"fmt"
	"io"
	"math/bits"

	"github.com/vsrsim/vsrsim/simclock"
)

// Trace is the record of a run: one event at a time, each folded into a running hash, and
// rendered as one stable text line when a writer is attached. The hash covers the same
// fields the line shows, so the hash of a run does not depend on whether it was written
// out, and hashing costs a few multiplications per event.
type Trace struct {
	a, b     uint64 // two independent lanes of the running hash
	events   uint64
	out      *bufio.Writer
	describe func(data []byte) string // renders a message for text lines; may be nil
	err      error
}

// TraceKind names an event in the trace.
type TraceKind uint16

// A trace line is "<tick> <kind> <fields>"; the fields of each kind are fixed.
const (
	TraceNetSent TraceKind = iota + 1
	TraceNetDelivered
	TraceNetDropped
	TraceNetDuplicated
	TraceNetCorrupted
	TraceNetMisrouted
	TraceNetPartitioned
	TraceNetHealed
	TraceNetClogged
	TraceCrash
	TraceRestart
	TracePause
	TraceResume
	TraceClockJump
	TraceStatus  // replica status, view, op, commit changed
	TraceRequest // a client invoked an operation
	TraceReply   // a client received its reply
	TracePhase   // the liveness phase began
	TraceNote    // a checker's or the world's remark
	TracePanic   // the simulation panicked
	// Added later, so that earlier kinds keep their numbers (and runs their hashes).
	TraceStorageFault  // a disk fault: replica, kind, zone, sector, sectors, target
	TraceWipe          // a replica restarts on an empty disk
	TraceWipeRecovered // a wiped replica is healthy again
	TraceClusterCrash  // every replica crashes at once
)

func newTrace(out io.Writer, describe func([]byte) string) *Trace {
	t := &Trace{a: 0x6a09e667f3bcc908, b: 0xbb67ae8584caa73b, describe: describe}
	if out != nil {
		t.out = bufio.NewWriterSize(out, 64<<10)
	}
	return t
}

func (t *Trace) mix(word uint64) {
	t.a = (t.a ^ word) * 0x9e3779b97f4a7c15
	t.a ^= t.a >> 29
	t.b = bits.RotateLeft64((t.b+word)*0xc2b2ae3d27d4eb4f, 31)
}

// Record folds an event into the hash. The words are the event's fields; text, when the
// trace is written out, renders them.
func (t *Trace) Record(now simclock.Tick, kind TraceKind, words ...uint64) {
	t.events++
	t.mix(uint64(now)<<16 | uint64(kind))
	for _, w := range words {
		t.mix(w)
	}
}

// Writing reports whether text lines are wanted: callers skip formatting otherwise.
func (t *Trace) Writing() bool { return t.out != nil }

// Line writes one text line. Call it only when Writing, after Record of the same event.
func (t *Trace) Line(now simclock.Tick, format string, args ...any) {
	if t.out == nil || t.err != nil {
		return
	}
	_, err := fmt.Fprintf(t.out, "%8d "+format+"\n", append([]any{uint64(now)}, args...)...)
	if err != nil {
		t.err = err
	}
}

// Text records a free-form event: the text itself is hashed.
func (t *Trace) Text(now simclock.Tick, kind TraceKind, text string) {
	t.Record(now, kind, uint64(len(text)))
	for i := 0; i < len(text); i += 8 {
		var word uint64
		for j := i; j < i+8 && j < len(text); j++ {
			word = word<<8 | uint64(text[j])
		}
		t.mix(word)
	}
	if t.out != nil {
		t.Line(now, "%s", text)
	}
}

// Hash is the running hash so far, as 32 hex digits.
func (t *Trace) Hash() string { return fmt.Sprintf("%016x%016x", t.a, t.b) }

// Events counts the events recorded.
func (t *Trace) Events() uint64 { return t.events }

// Close flushes the text; it reports the first write error.
func (t *Trace) Close() error {
	if t.out == nil {
		return nil
	}
	if err := t.out.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}
