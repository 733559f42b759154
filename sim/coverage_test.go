package sim

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

// TestCoverageSignaturesOfAFewRuns checks that the protocol signal says something: a few
// swarm seeds reach dozens of situations, view changes and lagging replicas among them,
// each reported once per run, and listening changes nothing in the run.
func TestCoverageSignaturesOfAFewRuns(t *testing.T) {
	all := map[uint64]int{}
	for seed := 1; seed <= 6; seed++ {
		config := RunConfig{Seed: strconv.Itoa(seed)}
		plain := mustRun(t, config)
		heard := map[uint64]bool{}
		config.Coverage = func(s uint64) {
			if heard[s] {
				t.Errorf("seed %d: signature %s reported twice", seed, DescribeSignature(s))
			}
			heard[s] = true
		}
		listened := mustRun(t, config)
		if plain.TraceHash != listened.TraceHash {
			t.Fatalf("seed %d: the coverage hook changed the run: %s, %s", seed, plain.TraceHash,
				listened.TraceHash)
		}
		for s := range heard {
			all[s]++
		}
	}
	var situations, activities, viewChanges, lagging int
	for s := range all {
		description := DescribeSignature(s)
		switch {
		case s&signatureActivity != 0:
			activities++
		default:
			situations++
			if strings.Contains(description, "view_change=") {
				viewChanges++
			}
			if strings.Contains(description, "lag=further") {
				lagging++
			}
		}
	}
	t.Logf("6 seeds: %d situations (%d in a view change, %d with a replica a pipeline behind), "+
		"%d activities", situations, viewChanges, lagging, activities)
	if situations < 30 || activities < 10 || viewChanges < 5 || lagging < 5 {
		for s := range all {
			t.Log(DescribeSignature(s))
		}
		t.Fatal("the protocol signal is too poor to guide a fuzzer")
	}
}

// A steered run reports the same signatures every time: coverage is a property of the input.
func TestCoverageIsDeterministic(t *testing.T) {
	var first, second []uint64
	for _, into := range []*[]uint64{&first, &second} {
		mustRun(t, RunConfig{Seed: "3", Entropy: []byte("fuzz"), EntropyMode: entropy.ModeSteer,
			Coverage: func(s uint64) { *into = append(*into, s) }})
	}
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("%d and %d signatures", len(first), len(second))
	}
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("signature %d: %s, then %s", i, DescribeSignature(first[i]),
				DescribeSignature(second[i]))
		}
	}
}

func TestDescribeSignature(t *testing.T) {
	situation := uint64(1)<<(3*roleDown) | 2<<(3*roleBackup) | 2<<(3*roleViewChange) |
		3<<situationProgressShift | 2<<situationLagShift
	activity := uint64(signatureActivity) | 5 | 3<<activityNormalShift | activityRepairBit |
		2<<activityPipelineShift
	for s, want := range map[uint64]string{
		situation: "situation: down=1 backup=2 view_change=2 vc:svc vc:dvc lag=further",
		activity:  "activity: replicas=5 normal=3 repair pipeline=full",
	} {
		if got := DescribeSignature(s); got != want {
			t.Errorf("DescribeSignature(%#x) = %q, want %q", s, got, want)
		}
	}
}
