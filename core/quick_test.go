package core

// Differential checks of small pure pieces (convention 16): the real code against a
// deliberately naive version, by enumeration where the space is small and over a seeded
// stream of random cases where it is not.

import (
	"fmt"
	"math/bits"
	"sort"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

// harnessSubsets lists every subset of {0..n-1} with k members, as bitsets.
func harnessSubsets(n, k int) []uint32 {
	var out []uint32
	for s := uint32(0); s < 1<<n; s++ {
		if bits.OnesCount32(s) == k {
			out = append(out, s)
		}
	}
	return out
}

// harnessAllMeet reports whether every a-subset of n replicas meets every b-subset.
func harnessAllMeet(n, a, b int) bool {
	for _, x := range harnessSubsets(n, a) {
		for _, y := range harnessSubsets(n, b) {
			if x&y == 0 {
				return false
			}
		}
	}
	return true
}

// harnessSmallest is the smallest k in 1..n for which ok holds (n+1 if none).
func harnessSmallest(n int, ok func(k int) bool) int {
	for k := 1; k <= n; k++ {
		if ok(k) {
			return k
		}
	}
	return n + 1
}

func TestQuickQuorumsMatchEnumeration(t *testing.T) {
	for n := 1; n <= 6; n++ {
		c := harnessConfig(n)
		// Naively: a replication quorum is the smallest size any two of which meet (so two
		// primaries can never commit different ops at one op), and a view-change quorum the
		// smallest size that meets every replication quorum (so a view change sees every
		// committed op). A nack quorum must miss every replication quorum's worth of
		// holders: the smallest size that meets every replication quorum again.
		replication := harnessSmallest(n, func(k int) bool { return harnessAllMeet(n, k, k) })
		meetsReplication := func(k int) bool { return harnessAllMeet(n, k, replication) }
		viewChange := harnessSmallest(n, meetsReplication)
		r := &Replica{config: c}
		if c.QuorumReplication() != replication || c.QuorumViewChange() != viewChange ||
			r.quorumNack() != viewChange {
			t.Errorf("%d replicas: quorums replication %d, view change %d, nack %d; "+
				"enumeration says %d, %d, %d", n, c.QuorumReplication(), c.QuorumViewChange(),
				r.quorumNack(), replication, viewChange, viewChange)
		}
		// Liveness: with f = n - replication replicas down, the rest still form both quorums.
		if up := replication; viewChange > up {
			t.Errorf("%d replicas: a view change needs %d, but only %d may be up", n, viewChange,
				up)
		}
	}
	// VRR §4 (quorums): f+1 of 2f+1 replicas; a view-change quorum intersects every
	// replication quorum, so it holds every committed op.
}

// harnessQuickRecord is a random do_view_change record: a chain of its own (checksums
// unique to the record, linked from the root) whose last window it sends. A third of the
// time it ties with an earlier record on (log view, op), where only arrival order decides.
func harnessQuickRecord(rand *entropy.Rand, index int, view View, config *Config, root Checksum,
	earlier []doViewChangeRecord) doViewChangeRecord {
	d := doViewChangeRecord{replica: ReplicaIndex(index), view: view,
		logView: View(rand.Range(0, uint64(view)-1)), op: Op(rand.Range(0, 20))}
	if len(earlier) > 0 && rand.Range(0, 2) == 0 {
		twin := earlier[rand.Int(len(earlier))]
		d.logView, d.op = twin.logView, twin.op
	}
	d.commit = Op(rand.Range(0, uint64(d.op)))
	parent := root
	var chain []PrepareHeader
	for op := Op(1); op <= d.op; op++ {
		h := PrepareHeader{Op: op, View: d.logView, Parent: parent,
			Checksum: Checksum{Lo: uint64(index) + 1,
				Hi: uint64(index)<<32 | uint64(op)<<8 | uint64(d.logView)}}
		chain = append(chain, h)
		parent = h.Checksum
	}
	window := min(len(chain), config.PipelineMax+1)
	d.headers = chain[len(chain)-window:]
	d.present = 1<<len(d.headers) - 1
	return d
}

// harnessQuickReplica is a replica of a cluster of n, in view-change status in view, with
// the given do_view_change records.
func harnessQuickReplica(n int, view View, records []doViewChangeRecord) *Replica {
	h := harnessNew(n, 0, func(c *Config) { c.PipelineMax = 4 })
	r := h.replica(int(h.config.primaryOf(view)))
	r.status, r.view = StatusViewChange, view
	r.viewChange = viewChangeState{dvcs: records}
	return r
}

func TestQuickBestLogMatchesANaiveSort(t *testing.T) {
	rand := entropy.FromSeed(1).Stream("quick.best_log")
	for round := 0; round < 2000; round++ {
		n := int(rand.Range(1, 6))
		view := View(rand.Range(1, 5))
		config := harnessConfig(n)
		config.PipelineMax = 4
		root, _ := RootPrepare(config.Cluster)
		count := int(rand.Range(1, uint64(n)))
		records := make([]doViewChangeRecord, count)
		for i := range records {
			records[i] = harnessQuickRecord(rand, i, view, &config, root.Checksum, records[:i])
		}
		// Naively: sort by log view, then op, both descending; ties keep the order of
		// arrival, and the first wins.
		sorted := append([]doViewChangeRecord(nil), records...)
		sort.SliceStable(sorted, func(a, b int) bool {
			if sorted[a].logView != sorted[b].logView {
				return sorted[a].logView > sorted[b].logView
			}
			return sorted[a].op > sorted[b].op
		})
		best := sorted[0]
		commit := Op(0)
		for _, d := range records {
			commit = max(commit, d.commit)
		}
		if best.op > Op(config.PipelineMax) {
			commit = max(commit, best.op-Op(config.PipelineMax)) // all but a pipeline committed
		}
		commit = min(commit, best.op)

		r := harnessQuickReplica(n, view, records)
		r.installBestLog()
		got := fmt.Sprintf("head op%d commit %d", r.journal.op, r.commitMax)
		want := fmt.Sprintf("head op%d commit %d", best.op, commit)
		if best.op > 0 {
			got += fmt.Sprintf(" %+v", r.journal.header(r.journal.op).Checksum)
			want += fmt.Sprintf(" %+v", best.headers[len(best.headers)-1].Checksum)
		}
		if got != want {
			t.Fatalf("round %d: %d records %+v: installed %s, a naive sort picks %s", round, count,
				records, got, want)
		}
	}
	// VRR §4.2 step 3: "selects as the new log the one contained in the message with the
	// largest v'; if several messages have the same v' it selects the one among them with
	// the largest n", and takes the largest commit number it received.
}

// harnessNaiveNacks reads the rule of viewchange_primary.go as plainly as it can: a
// replica nacks the prepare (op, checksum) if it did not lose its state at or above op,
// and either its log ends below op, or its window has op with another checksum or without
// the prepare.
func harnessNaiveNacks(records []doViewChangeRecord, op Op, checksum Checksum) int {
	count := 0
	for _, d := range records {
		if d.recoveredOp >= op {
			continue // it may have acknowledged op before it crashed: it abstains
		}
		type entry struct {
			checksum Checksum
			held     bool
		}
		window := map[Op]entry{}
		for i, h := range d.headers {
			window[h.Op] = entry{checksum: h.Checksum, held: d.present&(1<<i) != 0}
		}
		e, inWindow := window[op]
		switch {
		case d.op < op:
			count++
		case inWindow && (e.checksum != checksum || !e.held):
			count++
		}
	}
	return count
}

// harnessQuickNackRecords draws do_view_change records about one op: some hold the
// prepare, some another prepare there, some only its header, some end below it, and
// some recovered past it.
func harnessQuickNackRecords(rand *entropy.Rand, n int, view View, op Op,
	checksum Checksum) []doViewChangeRecord {
	count := int(rand.Range(1, uint64(n)))
	records := make([]doViewChangeRecord, count)
	for i := range records {
		d := doViewChangeRecord{replica: ReplicaIndex(i), view: view}
		d.op = Op(rand.Range(0, uint64(op)+3))
		from := Op(max(1, int(d.op)-int(rand.Range(0, 6))))
		for o := from; o <= d.op; o++ {
			h := PrepareHeader{Op: o, Checksum: Checksum{Lo: uint64(o), Hi: rand.Range(0, 1)}}
			if o == op && rand.Bool() {
				h.Checksum = checksum
			}
			d.headers = append(d.headers, h)
		}
		d.present = rand.Uint64() & (1<<len(d.headers) - 1)
		if rand.Range(0, 3) == 0 {
			d.recoveredOp = Op(rand.Range(0, uint64(op)+2))
		}
		records[i] = d
	}
	return records
}

func TestQuickNacksMatchANaiveReading(t *testing.T) {
	rand := entropy.FromSeed(1).Stream("quick.nacks")
	for round := 0; round < 5000; round++ {
		n := int(rand.Range(1, 6))
		view := View(rand.Range(1, 5))
		op := Op(rand.Range(1, 8))
		checksum := Checksum{Lo: uint64(op), Hi: 7}
		records := harnessQuickNackRecords(rand, n, view, op, checksum)
		r := harnessQuickReplica(n, view, records)
		got, want := r.nacks(op, checksum), harnessNaiveNacks(records, op, checksum)
		if got != want {
			t.Fatalf("round %d: op%d, records %+v: nacks %d, a naive reading says %d", round, op,
				records, got, want)
		}
	}
	// VRR §4.2 step 3, with the nack quorum of Protocol-Aware Recovery: an op of the best
	// log that no one holds may be truncated only on enough proofs that it was not held.
}

func TestQuickNackQuorumNeverTruncatesACommittedOp(t *testing.T) {
	rand := entropy.FromSeed(1).Stream("quick.nack_safety")
	for round := 0; round < 5000; round++ {
		n := int(rand.Range(1, 6))
		config := harnessConfig(n)
		view, op := View(1), Op(rand.Range(1, 8))
		checksum := Checksum{Lo: uint64(op), Hi: 7}
		// The op committed: a replication quorum held it. Those holders say so, or lost
		// their state after it (and abstain); the others say anything at all.
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		rand.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		holders := replicaSet(0)
		for _, i := range order[:config.QuorumReplication()] {
			holders = holders.with(ReplicaIndex(i))
		}
		records := harnessQuickNackRecords(rand, n, view, op, checksum)
		for i := range records {
			if !holders.has(records[i].replica) {
				continue
			}
			d := &records[i]
			if rand.Bool() {
				d.recoveredOp = op + Op(rand.Range(0, 2))
				continue
			}
			d.op, d.recoveredOp = op+Op(rand.Range(0, 2)), 0
			d.headers = nil
			for o := op; o <= d.op; o++ {
				h := PrepareHeader{Op: o, Checksum: Checksum{Lo: uint64(o), Hi: 9}}
				d.headers = append(d.headers, h)
			}
			d.headers[0].Checksum = checksum
			d.present = 1<<len(d.headers) - 1
		}
		r := harnessQuickReplica(n, view, records)
		if nacks := r.nacks(op, checksum); nacks >= r.quorumNack() {
			t.Fatalf("round %d: %d replicas, holders %b, records %+v: %d nacks reach "+
				"the nack quorum %d of a committed op",
				round, n, holders, records, nacks, r.quorumNack())
		}
	}
	// VRR §4.2 (safety of the view change): a committed op survives every view change. A
	// truncation on a nack quorum never drops one, since a nack quorum and a replication
	// quorum always share a replica, and that replica does not nack.
}
