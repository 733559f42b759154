package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuorumMutantIsKilled builds the command twice through -overlay, as a run does: once
// unmutated, where every seed passes, and once with the primary committing an op as soon
// as it has fewer acknowledgements than a replication quorum, which a short swarm kills.
func TestQuorumMutantIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command twice and runs a swarm on each")
	}
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshotTree(root)
	if err != nil {
		t.Fatal(err)
	}
	fset, info, sources, err := loadPackage(filepath.Join(root, pkgDir), snap.pkgFiles(pkgDir))
	if err != nil {
		t.Skipf("core/ does not type-check as it stands: %v", err)
	}
	var quorum *Site
	for _, s := range enumerate(fset, info, sources) {
		if s.File == "primary.go" && strings.Contains(s.Code, "acks.count() >= quorum") &&
			s.Old == ">=" && s.New == "<" {
			quorum = &s
		}
	}
	if quorum == nil {
		t.Fatal("no site `acks.count() >= quorum` → `<` in core/primary.go: update the test")
	}
	tmp := t.TempDir()
	if err := snap.writeFiles(tmp); err != nil {
		t.Fatal(err)
	}
	plan := swarmPlan{seeds: 10, first: 1, chunk: 5, workers: 2, requests: 50}
	r := &runner{root: root, tmp: tmp, pkg: pkgDir, snap: snap, memoryMB: 2048, plan: plan,
		timeout: 2 * time.Minute}
	ctx := context.Background()
	base, err := r.run(ctx, nil, 0)
	if err != nil || base.Verdict != verdictSurvived || base.Seeds != 10 {
		t.Fatalf("unmutated: %s %s %s (%v)", base.Verdict, base.Failure, base.Error, err)
	}
	rec, err := r.run(ctx, quorum, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s (build %.1f s, swarm %.1f s)", rec.ID, verdictText(&rec), rec.BuildSeconds,
		rec.SwarmSeconds)
	if rec.Verdict != verdictKilled || rec.Seed == "" || rec.Failure == "" {
		t.Errorf("%s: %s, want killed at some seed", rec.ID, verdictText(&rec))
	}
	if !strings.Contains(rec.Mutated, "acks.count() < quorum") {
		t.Errorf("mutated line %q", rec.Mutated)
	}
}

func TestSwarmArgs(t *testing.T) {
	p := swarmPlan{seeds: 100, first: 7, chunk: 20, workers: 2, requests: 60,
		extra: []string{"--replicas", "3"}}
	got := strings.Join(p.args(27, 20), " ")
	want := "swarm --seeds 20 --first-seed 27 --workers 2 --json --requests 60 --replicas 3"
	if got != want {
		t.Errorf("args: %s\nwant: %s", got, want)
	}
}

func TestInvariantOf(t *testing.T) {
	for _, c := range []struct{ verdict, failure, want string }{
		{"correctness", "tick 92, replica 0: convergence: state digest 28 after op 7", "convergence"},
		{"correctness", "tick 9, cluster: one history: op 3 differs", "one history"},
		{"crash", "panic: core: assertion failed at core/journal.go:100",
			"assertion at core/journal.go:100"},
		{"crash", "panic: runtime error: index out of range [3] with length 3",
			"runtime error: index out of range"},
		{"crash", "panic: core: start_view of view 142 at op 149", "panic: start_view of view # at op #"},
		{"crash", "panic: sim: a reply's output is not valid: <nil> {}",
			"panic: sim: a reply's output is not valid: <nil> {}"},
		{"liveness", "core did not converge in 20000 ticks: ...", "no convergence"},
		{"liveness", "the healed core answered 3 of the 9 requests left", "healed core did not serve"},
	} {
		if got := invariantOf(c.verdict, c.failure); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.verdict, c.failure, got, c.want)
		}
	}
}
