package core

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// bigState is a state machine of a fixed, large state: each op stamps its number into the
// state and chains its input into a digest kept in the state's first 16 bytes, so that a
// snapshot is the whole state and a restore brings the digest with it.
type bigState struct{ state []byte }

func newBigState(size int) *bigState {
	s := &bigState{state: make([]byte, size)}
	for i := 16; i < size; i += 4096 {
		s.state[i] = byte(i / 4096)
	}
	return s
}

func (s *bigState) Apply(op Op, _ uint64, input []byte, output []byte) []byte {
	binary.LittleEndian.PutUint64(s.state[16+int(op)*8%(len(s.state)-24):], uint64(op))
	digest := checksumOf(append(append([]byte(nil), s.state[:16]...), input...))
	digest.put(s.state)
	return output
}

func (s *bigState) Digest() Checksum { return getChecksum(s.state) }
func (s *bigState) Snapshot() []byte { return append([]byte(nil), s.state...) }
func (s *bigState) Restore(b []byte) error {
	if len(b) != len(s.state) {
		return errors.New("bigState: a snapshot of another size")
	}
	copy(s.state, b)
	return nil
}

// BenchmarkStateTransfer100MiB: a replica partitioned away while the ring wraps twice
// rejoins by transferring a checkpoint of a 100 MiB state, in chunks of a message's body
// (60 KiB with the default 64 KiB messages), RepairMax of them each repair round. Reports
// the ticks and the wall time from the heal until the replica holds the state. (go test
// ./core -run '^$' -bench StateTransfer100MiB -benchtime 1x)
func BenchmarkStateTransfer100MiB(b *testing.B) {
	const size = 100 << 20
	for i := 0; i < b.N; i++ {
		config := harnessConfig(3)
		config.CheckpointOps, config.JournalSlots, config.CheckpointSizeMax = 16, 64, 128<<20
		h := newHarnessWith(config, 1, 1, func(int) StateMachine { return newBigState(size) })
		h.partition([][]int{{0, 1, h.clientNode(1)}, {2}})
		for k := 0; k < 2*64+8; k++ {
			if err := h.submit(1, KVInput{Op: KVPut, Key: "k", Value: "v"}); err != nil {
				b.Fatal(err)
			}
			h.stabilize(300)
		}
		h.heal()
		start := time.Now()
		ticks, ok := h.stabilize(100_000)
		elapsed := time.Since(start)
		r := h.replica(2)
		if !ok || r.stats.StateTransfers != 1 || r.Digest() != h.replica(0).Digest() {
			b.Fatalf("settled %v in %d ticks, %d transfers: want one transfer, replica 0's state", ok, ticks,
				r.stats.StateTransfers)
		}
		b.ReportMetric(float64(ticks), "ticks")
		b.ReportMetric(elapsed.Seconds(), "wall-s")
		b.ReportMetric(float64(r.Checkpoint().Size)/(1<<20), "MiB")
	}
}
