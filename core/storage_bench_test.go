package core

import (
	"fmt"
	"testing"
)

// The disk's cost to a replica, on the in-memory storage of the tests (no latency): what the
// replica itself spends, not what a disk would.

// BenchmarkJournalWriteOp: one op made durable and committed by a cluster of one: the
// prepare written and read back, its header sector written and read back, the root
// untouched, the op executed and answered. (go test ./core -run '^$' -bench JournalWrite)
func BenchmarkJournalWriteOp(b *testing.B) {
	h := harnessNew(1, 1, nil)
	put := func(k int) {
		if err := h.submit(1, KVInput{Op: KVPut, Key: fmt.Sprintf("k%d", k%64), Value: "value"}); err != nil {
			b.Fatal(err)
		}
		h.settle(b)
	}
	put(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		put(i)
	}
	b.StopTimer()
	if r := h.replica(0); r.commitMin < Op(b.N) || !r.journal.entry(r.commitMin).durable() {
		b.Fatalf("committed %d of %d ops, the last durable %v", r.commitMin, b.N, r.journal.entry(r.commitMin).durable())
	}
}

// BenchmarkRecoveryFullJournal: a restart of a replica whose log reached 4,096 ops (the
// default ring of 1,024 slots, a checkpoint every 256 ops): the root, the checkpoint and
// every header sector of the ring read back, every prepare above the checkpoint read and
// classified, the log rebuilt and executed above the checkpoint until the replica serves.
// Reported per restart and per op of the log. (go test ./core -run '^$' -bench
// RecoveryFullJournal)
func BenchmarkRecoveryFullJournal(b *testing.B) {
	const ops = 4096
	h := harnessNew(1, 1, nil)
	for k := 0; k < ops; k++ {
		if err := h.submit(1, KVInput{Op: KVPut, Key: fmt.Sprintf("k%d", k%64), Value: "value"}); err != nil {
			b.Fatal(err)
		}
		h.settle(b)
	}
	head := h.replica(0).journal.op
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.crash(0)
		h.reopen(0, false)
		h.settle(b)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(head), "ns/journal-op")
	if r := h.replica(0); r.journal.op != head || r.commitMin != head || r.stats.Restarts != 1 {
		b.Fatalf("restarted at op %d, executed %d, restarts %d: want %d, %d, 1", r.journal.op, r.commitMin,
			r.stats.Restarts, head, head)
	}
}
