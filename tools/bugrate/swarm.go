package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/sim"
)

// swarmAttempt runs the seeds first, first+1, ... as `vsrsim swarm --bug NAME --first-seed
// first --workers N` does (the swarm profile, every knob drawn), until the first seed that
// fails or the cap.
func swarmAttempt(ctx context.Context, bug string, first uint64, workers int,
	cap time.Duration) (attempt, error) {
	a := attempt{bug: bug, searcher: "swarm", start: strconv.FormatUint(first, 10)}
	bugs, err := core.ParseBugs(bug)
	if err != nil {
		return a, err
	}
	ctx, cancel := context.WithTimeout(ctx, cap)
	defer cancel()
	start := time.Now()
	var next atomic.Uint64
	var mu sync.Mutex
	var runErr error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seed := strconv.FormatUint(first+next.Add(1)-1, 10)
				r, err := sim.Run(sim.RunConfig{Seed: seed, Profile: sim.ProfileSwarm, Bugs: bugs})
				mu.Lock()
				switch {
				case err != nil && runErr == nil:
					runErr = fmt.Errorf("swarm seed %s: %v", seed, err)
					cancel()
				case err == nil && r.Verdict != sim.VerdictPass && !a.found && ctx.Err() == nil:
					a.found, a.seconds = true, time.Since(start).Seconds()
					a.how = fmt.Sprintf("seed %s (vsrsim run --seed %s --bug %s)", seed, seed, bug)
					a.failure = fmt.Sprintf("%v: %s", r.Verdict, r.Failure)
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !a.found {
		a.seconds = time.Since(start).Seconds()
	}
	return a, runErr
}
