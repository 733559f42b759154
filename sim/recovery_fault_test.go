package sim

import (
	"strconv"
	"testing"
)

// TestPrimaryCrashesAfterARecovery turns the fault on for every recovery of a five-replica
// cluster that crashes often: primaries crash as replicas recover from them, and the runs
// pass; with the knob at zero, none does.
func TestPrimaryCrashesAfterARecovery(t *testing.T) {
	for _, probability := range []string{"100%", "0"} {
		after := uint64(0)
		for seed := 1; seed <= 6; seed++ {
			r := mustRun(t, RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileSwarm, Overrides: []Override{
				{Name: "replicas", Value: "5"}, {Name: "crashProbability", Value: "0.1%"},
				{Name: "restartProbability", Value: "1%"}, {Name: "crashAfterRecoveryProbability", Value: probability}}})
			after += r.Stats.CrashesAfterRecovery
		}
		if (probability == "0") != (after == 0) {
			t.Fatalf("crashAfterRecoveryProbability %s: %d crashes after a recovery in 6 seeds", probability, after)
		}
		t.Logf("crashAfterRecoveryProbability %s: %d crashes after a recovery in 6 seeds", probability, after)
	}
}

// TestVoterCrashesAfterItsVote turns the fault on for every do_view_change of a cluster
// whose views change often: replicas crash as they vote, only within the stop budget, and
// the runs pass; with the knob at zero, none does. Each crash is one the scheduler could
// also have made at random: the knob only picks the moment.
func TestVoterCrashesAfterItsVote(t *testing.T) {
	for _, probability := range []string{"50%", "0"} {
		after, crashes := uint64(0), uint64(0)
		for seed := 1; seed <= 6; seed++ {
			r := mustRun(t, RunConfig{Seed: strconv.Itoa(seed), Profile: ProfileSwarm, Overrides: []Override{
				{Name: "replicas", Value: "3"}, {Name: "crashProbability", Value: "0.05%"},
				{Name: "restartProbability", Value: "1%"}, {Name: "crashAfterVoteProbability", Value: probability}}})
			after += r.Stats.CrashesAfterVote
			crashes += r.Stats.Crashes
		}
		if (probability == "0") != (after == 0) || after > crashes {
			t.Fatalf("crashAfterVoteProbability %s: %d crashes after a vote (of %d) in 6 seeds", probability, after, crashes)
		}
		t.Logf("crashAfterVoteProbability %s: %d crashes after a vote, of %d crashes, in 6 seeds", probability, after, crashes)
	}
}
