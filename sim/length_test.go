package sim

import (
	"sort"
	"strconv"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

// The swarm draws the run's length from a long tail (drawLength): most seeds short, some
// with thousands of requests, so that paths which need a structure to grow are reached.

// TestSwarmDrawsLongRuns counts the long seeds among the first thousand: enough of them,
// reaching tens of thousands of requests, each with a safety phase long enough to serve them;
// and a stream of zeros (the fuzzer's and the shrinker's simplest input) stays short.
func TestSwarmDrawsLongRuns(t *testing.T) {
	long, longest := 0, 0
	for seed := uint64(1); seed <= 1000; seed++ {
		o := DrawOptions(ProfileSwarm, entropy.FromSeed(seed).Stream("options"))
		if o.Requests > 256 {
			long++
			if o.TicksMax < uint64(o.Requests)*longRunTicksPerRequest {
				t.Errorf("seed %d: %d requests in a safety phase of %d ticks", seed, o.Requests, o.TicksMax)
			}
		}
		longest = max(longest, o.Requests)
	}
	t.Logf("%d of the first 1,000 seeds are long; the longest issues %d requests", long, longest)
	if long < 1000/longRunOneIn/2 || long > 1000/longRunOneIn*2 || longest < 20_000 {
		t.Errorf("%d long seeds of 1,000 (want about %d), the longest %d requests (want tens of thousands)",
			long, 1000/longRunOneIn, longest)
	}
	if o := DrawOptions(ProfileSwarm, entropy.FromBytes(nil).Stream("options")); o.Requests > 256 {
		t.Errorf("a stream of zeros draws a long run of %d requests", o.Requests)
	}
}

// TestSomeEarlySeedPassesFiveThousandOps runs, among the first thousand swarm seeds, the
// cheapest (fewest requests times replicas) whose draw asks for at least 5,000 requests,
// and wants it to pass with at least 5,000 ops committed: the long tail is not only drawn
// but run to the end, under faults.
func TestSomeEarlySeedPassesFiveThousandOps(t *testing.T) {
	const opsMin = 5_000
	type candidate struct {
		seed               uint64
		requests, replicas int
	}
	var candidates []candidate
	for seed := uint64(1); seed <= 1000; seed++ {
		o := DrawOptions(ProfileSwarm, entropy.FromSeed(seed).Stream("options"))
		if o.Requests >= opsMin {
			candidates = append(candidates, candidate{seed, o.Requests, o.Replicas})
		}
	}
	cost := func(c candidate) int { return c.requests * c.replicas }
	sort.Slice(candidates, func(i, j int) bool { return cost(candidates[i]) < cost(candidates[j]) })
	for _, c := range candidates[:min(3, len(candidates))] {
		r, err := Run(RunConfig{Seed: strconv.FormatUint(c.seed, 10)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != VerdictPass {
			t.Fatalf("seed %d (%d requests): %v: %s", c.seed, c.requests, r.Verdict, r.Failure)
		}
		t.Logf("seed %d: %d requests, %d ops committed in %d ticks", c.seed, c.requests,
			r.Stats.OpsCommitted, r.Ticks)
		if r.Stats.OpsCommitted >= opsMin {
			return
		}
	}
	t.Fatalf("none of the cheapest long seeds of the first 1,000 committed %d ops", opsMin)
}
