package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/vsrsim/vsrsim/sim"
)

// controlSeeds is how many swarm seeds must pass without a planted bug before measuring.
const controlSeeds = 40

// checkTree makes sure that what fails in a measurement is the planted bug: the tree must
// pass without one (a few swarm seeds, and FuzzCluster's seed corpus under the fuzzing
// engine, which also builds its test binary so that no attempt's time includes that).
func checkTree(ctx context.Context, workers int) error {
	fmt.Fprintf(os.Stderr, "bugrate: checking that the tree passes without a planted bug\n")
	for seed := 1; seed <= controlSeeds; seed++ {
		r, err := sim.Run(sim.RunConfig{Seed: strconv.Itoa(seed), Profile: sim.ProfileSwarm})
		if err != nil {
			return err
		}
		if r.Verdict != sim.VerdictPass {
			return fmt.Errorf("swarm seed %d fails without a planted bug (%v: %s): "+
				"measure a tree that passes", seed, r.Verdict, r.Failure)
		}
	}
	return warmUp(ctx, workers)
}
