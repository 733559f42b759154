package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Verdicts of a mutant.
const (
	verdictKilled    = "killed"    // a seed failed
	verdictTimeout   = "timeout"   // the swarm outlived its time limit: counted as killed
	verdictSurvived  = "survived"  // every seed passed
	verdictStillborn = "stillborn" // the mutant does not compile: not counted
	verdictError     = "error"     // not judged (a build broken elsewhere): not counted
)

// Record is what one mutant did: a row of the table and an element of --json.
type Record struct {
	ID      string `json:"id,omitempty"`
	Site    *Site  `json:"site,omitempty"`    // nil for the baseline
	Mutated string `json:"mutated,omitempty"` // the line after the mutation, trimmed
	Verdict string `json:"verdict"`
	// KilledBy is the first failing seed's verdict (correctness, liveness, crash), or
	// "process" when the simulator died outside any seed (a fatal runtime error).
	KilledBy    string `json:"killed_by,omitempty"`
	Invariant   string `json:"invariant,omitempty"`    // what failed, in a few words
	Seed        string `json:"seed,omitempty"`         // the first failing seed
	Failure     string `json:"failure,omitempty"`      // its failure line
	FailedSeeds int    `json:"failed_seeds,omitempty"` // of Seeds
	Seeds       int    `json:"seeds"`                  // run: up to the first failing chunk
	Error       string `json:"error,omitempty"`        // stillborn or error: the first lines of why
	// Ticks is the simulated time of the seeds run; for a survivor TicksRatio compares it
	// with the baseline's over the same seeds: 1 hints the mutant changed nothing those seeds
	// show (equivalent), another value that it changed timing (performance, liveness).
	Ticks      uint64  `json:"ticks"`
	TicksRatio float64 `json:"ticks_ratio,omitempty"`
	// Tests is, with --tests, how `go test ./core` judged a survivor: killed or survived.
	Tests        string  `json:"tests,omitempty"`
	TestFailure  string  `json:"test_failure,omitempty"`
	BuildSeconds float64 `json:"build_seconds"`
	SwarmSeconds float64 `json:"swarm_seconds"`
	TestSeconds  float64 `json:"test_seconds,omitempty"`
	Seconds      float64 `json:"seconds"`
}

// runner builds each mutant of the snapshot and runs the swarm on it.
type runner struct {
	root     string // the module's root, where go build runs
	tmp      string
	pkg      string // the mutated package's directory, relative to root: "core"
	snap     *snapshot
	plan     swarmPlan
	timeout  time.Duration // per mutant, for all of its swarm
	memoryMB int           // address space a mutant's simulator may write to
	tests    bool
}

// run judges one mutant; a nil site runs the snapshot as it is (the baseline). An error
// means the run as a whole cannot go on (interrupted, or the disk failed).
func (r *runner) run(ctx context.Context, site *Site, index int) (Record, error) {
	start := time.Now()
	rec := Record{}
	if site != nil {
		data := r.snap.files[path.Join(r.pkg, site.File)]
		rec.ID, rec.Site, rec.Mutated = site.ID(), site, mutatedLine(data, *site)
	}
	dir := filepath.Join(r.tmp, fmt.Sprintf("mutant-%03d", index))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rec, err
	}
	defer os.RemoveAll(dir) // a binary per mutant adds up over a long run
	overlay, err := r.snap.writeOverlay(dir, r.pkg, site)
	if err != nil {
		return rec, err
	}
	binary := filepath.Join(dir, "vsrsim")
	if err := r.build(ctx, overlay, binary, site, &rec); err != nil || rec.Verdict != "" {
		rec.Seconds = time.Since(start).Seconds()
		return rec, err
	}
	if err := r.runSwarm(ctx, binary, &rec); err != nil {
		return rec, err
	}
	if r.tests && site != nil && rec.Verdict == verdictSurvived {
		r.runTests(ctx, overlay, &rec)
	}
	rec.Seconds = time.Since(start).Seconds()
	return rec, ctx.Err()
}

// build compiles the command with the overlay. A compile error in the mutated file makes
// the mutant stillborn; any other failure is the tool's (verdict error).
func (r *runner) build(ctx context.Context, overlay, binary string, site *Site, rec *Record) error {
	t := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", overlay, "-o", binary, "./cmd/vsrsim")
	cmd.Dir = r.root
	out, err := cmd.CombinedOutput()
	rec.BuildSeconds = time.Since(t).Seconds()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	rec.Verdict, rec.Error = verdictError, firstLines(string(out), 3)
	if site != nil && strings.Contains(string(out), filepath.Join(r.pkg, site.File)+":") {
		rec.Verdict = verdictStillborn
	}
	return nil
}

// swarmSummary is the part of `vsrsim swarm --json` the tool reads.
type swarmSummary struct {
	Seeds    int    `json:"seeds"`
	Passed   int    `json:"passed"`
	Failed   int    `json:"failed"`
	Ticks    uint64 `json:"ticks"`
	Failures []struct {
		Seed      string `json:"seed"`
		Verdict   string `json:"verdict"`
		Failure   string `json:"failure"`
		Invariant string `json:"invariant"`
	} `json:"failures"`
}

// swarmPlan is the swarm every mutant runs: seeds first, first+1, ..., in chunks.
type swarmPlan struct {
	seeds    int
	first    uint64
	chunk    int // seeds per swarm process; 0: all of them in one
	workers  int
	requests int      // 0: the seed's draw
	extra    []string // more swarm flags, as given
}

// args is the swarm's command line, after the binary, for n seeds from first.
func (p swarmPlan) args(first uint64, n int) []string {
	args := []string{"swarm", "--seeds", strconv.Itoa(n), "--first-seed",
		strconv.FormatUint(first, 10), "--workers", strconv.Itoa(p.workers), "--json"}
	if p.requests > 0 {
		args = append(args, "--requests", strconv.Itoa(p.requests))
	}
	return append(args, p.extra...)
}

// runSwarm runs the plan's seeds chunk by chunk under one time limit, and stops at the
// first chunk with a failing seed: that chunk's first failure is the one a single swarm of
// every seed would report first, and a killed mutant costs a chunk, not every seed.
func (r *runner) runSwarm(ctx context.Context, binary string, rec *Record) error {
	t := time.Now()
	defer func() { rec.SwarmSeconds = time.Since(t).Seconds() }()
	limited, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	for done := 0; done < r.plan.seeds; {
		n := r.plan.seeds - done
		if r.plan.chunk > 0 {
			n = min(n, r.plan.chunk)
		}
		stdout, stderr, err := r.swarmOnce(limited, binary, r.plan.args(r.plan.first+uint64(done), n))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if limited.Err() != nil {
			rec.Verdict, rec.KilledBy = verdictTimeout, "timeout"
			rec.Failure = fmt.Sprintf("no verdict within %s", r.timeout)
			return nil
		}
		judge(stdout, stderr, err, rec)
		if rec.Verdict != verdictSurvived {
			return nil
		}
		done += n
	}
	return nil
}

// swarmOnce runs one swarm process under a memory limit: a mutant can allocate without
// end, and the machine is shared. On timeout its process group is killed.
func (r *runner) swarmOnce(ctx context.Context, binary string, args []string) (
	stdout, stderr []byte, err error) {
	// sh sets the limit and execs the simulator, so the process killed on timeout is it.
	limit := fmt.Sprintf("ulimit -d %d && exec \"$0\" \"$@\"", r.memoryMB*1024)
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", limit, binary}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// judge reads one swarm's outcome into the record: survived while every seed passes.
func judge(stdout, stderr []byte, err error, rec *Record) {
	var summary swarmSummary
	if jsonErr := json.Unmarshal(stdout, &summary); jsonErr != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// The simulator died outside any seed: a fatal runtime error (stack overflow,
			// out of memory) that no recover catches. That is a failure all the same.
			rec.Verdict, rec.KilledBy = verdictKilled, "process"
			rec.Failure = deathLine(string(stderr))
			rec.Invariant = "fatal runtime error"
			return
		}
		rec.Verdict = verdictError
		rec.Error = fmt.Sprintf("swarm output: %v: %s", jsonErr, firstLines(string(stderr), 3))
		return
	}
	rec.Seeds += summary.Seeds
	rec.FailedSeeds += summary.Failed
	rec.Ticks += summary.Ticks
	switch {
	case summary.Failed > 0:
		f := summary.Failures[0]
		rec.Verdict, rec.KilledBy, rec.Seed, rec.Failure = verdictKilled, f.Verdict, f.Seed, f.Failure
		rec.Invariant = f.Invariant
		if rec.Invariant == "" {
			rec.Invariant = invariantOf(f.Verdict, f.Failure)
		}
	case err == nil && summary.Passed == summary.Seeds:
		rec.Verdict = verdictSurvived
	default:
		rec.Verdict = verdictError
		rec.Error = fmt.Sprintf("swarm: %v: %s", err, firstLines(string(stderr), 3))
	}
}

// runTests runs the package's unit tests against a survivor: whether they would have
// caught what the simulator did not, reported apart from the score.
func (r *runner) runTests(ctx context.Context, overlay string, rec *Record) {
	t := time.Now()
	cmd := exec.CommandContext(ctx, "go", "test", "-overlay", overlay, "-count=1",
		"-timeout", r.timeout.String(), "./"+r.pkg)
	cmd.Dir = r.root
	out, err := cmd.CombinedOutput()
	rec.TestSeconds = time.Since(t).Seconds()
	if err == nil {
		rec.Tests = verdictSurvived
		return
	}
	rec.Tests = verdictKilled
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--- FAIL") || strings.HasPrefix(line, "panic:") {
			rec.TestFailure = strings.TrimSpace(line)
			return
		}
	}
	rec.TestFailure = firstLines(string(out), 1)
}

var digits = regexp.MustCompile(`[0-9]+`)

// invariantOf names what a failure broke, in a few words, from its line: the checker's
// invariant, the assertion's place, or the kind of panic.
func invariantOf(verdict, failure string) string {
	switch verdict {
	case "correctness": // tick T, replica R: INVARIANT: detail
		_, rest, _ := strings.Cut(failure, ": ")
		invariant, _, _ := strings.Cut(rest, ": ")
		return invariant
	case "crash":
		msg := strings.TrimPrefix(failure, "panic: ")
		if at, ok := strings.CutPrefix(msg, "core: assertion failed at "); ok {
			return "assertion at " + at
		}
		if strings.HasPrefix(msg, "runtime error: ") {
			kind, _, _ := strings.Cut(msg, " [")
			return kind
		}
		// A package's own panic ("core: ...", "sim: ..."): its message without the numbers
		// names the check.
		check := digits.ReplaceAllString(strings.TrimPrefix(msg, "core: "), "#")
		return "panic: " + truncate(check, 60)
	case "liveness":
		if strings.HasPrefix(failure, "the healed core answered") {
			return "healed core did not serve"
		}
		return "no convergence"
	}
	return verdict
}

// deathLine picks the line that says why a process died.
func deathLine(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "runtime:") ||
			strings.HasPrefix(line, "panic:") {
			return strings.TrimSpace(line)
		}
	}
	return firstLines(stderr, 1)
}

func firstLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	return strings.Join(lines[:min(n, len(lines))], " | ")
}

// truncate shortens text to n runes, marking the cut.
func truncate(text string, n int) string {
	runes := []rune(text)
	if len(runes) <= n {
		return text
	}
	return string(runes[:n-1]) + "…"
}
