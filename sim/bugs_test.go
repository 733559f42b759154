package sim

import (
	"strconv"
	"testing"

	"github.com/vsrsim/vsrsim/core"
)

// TestPlantedBugsAreFound builds the replicas with each deliberate protocol bug of
// core.Bug in turn and requires the swarm to fail within a few dozen seeds: the checkers
// (and the replicas' own assertions) find real protocol bugs, not only the ones they were
// written for. The seeds it took are logged: they are the tool's detection figures.
func TestPlantedBugsAreFound(t *testing.T) {
	const seedsMax = 40
	for _, name := range core.BugNames() {
		bug, err := core.ParseBugs(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for seed := 1; seed <= seedsMax; seed++ {
				r, err := Run(RunConfig{Seed: strconv.Itoa(seed), Bugs: bug, Overrides: []Override{{Name: "requests", Value: "120"}}})
				if err != nil {
					t.Fatal(err)
				}
				if r.Verdict != VerdictPass {
					t.Logf("%s: found at seed %d: %v: %s", name, seed, r.Verdict, r.Failure)
					return
				}
			}
			t.Fatalf("%s: %d swarm seeds passed with the bug planted", name, seedsMax)
		})
	}
}
