package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/sim"
)

type swarmFlags struct {
	seeds     uint64
	duration  string
	workers   int
	firstSeed string
	shard     string
	out       string
	jsonOut   bool
}

// swarmPlan is the validated shape of a swarm: which seeds, on how many workers.
type swarmPlan struct {
	first     uint64
	count     uint64 // 0 with a duration
	deadline  time.Duration
	shard, of uint64
	workers   int
	profile   sim.Profile
	overrides []sim.Override
	bugs      core.Bug
}

func newSwarmCommand() *cobra.Command {
	var sf swarmFlags
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "swarm",
		Short: "Run many seeds on a worker pool, each with its own random mix of faults",
		Long: "Run a sequence of seeds (first-seed, first-seed+1, ...) with the swarm profile on a\n" +
			"pool of workers. --shard I/N runs every N-th seed starting at the I-th, so N machines\n" +
			"split one sequence without overlap. Failing seeds are written to --out as corpus\n" +
			"entries. Exit 0 when every seed passed, else the exit code of the first failure.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, err := sf.plan(&rf)
			if err != nil {
				return err
			}
			if sf.out != "" {
				if err := os.MkdirAll(sf.out, 0o755); err != nil {
					return usageErrorf("--out: %v", err)
				}
			}
			report := runSwarm(plan, sf.out)
			printSwarm(report)
			if sf.jsonOut {
				if err := writeJSON(report); err != nil {
					return err
				}
			}
			return exitWith(report.exitCode)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&sf.seeds, "seeds", 0, "how many seeds to run")
	f.StringVar(&sf.duration, "duration", "", "run seeds for this long instead (a Go duration: 10m, 1h30m)")
	f.IntVar(&sf.workers, "workers", runtime.NumCPU(), "simulations at once")
	f.StringVar(&sf.firstSeed, "first-seed", "", "the first seed of the sequence (default: drawn and printed)")
	f.StringVar(&sf.shard, "shard", "0/1", "run shard I of N of the seed sequence")
	f.StringVar(&sf.out, "out", "", "write each failing seed to this directory as a corpus entry")
	f.BoolVar(&sf.jsonOut, "json", false, "print the summary as one JSON object on stdout")
	rf.register(f, false)
	return cmd
}

func (sf *swarmFlags) plan(rf *runFlags) (swarmPlan, error) {
	var p swarmPlan
	config, err := rf.config("1")
	if err != nil {
		return p, err
	}
	p.profile, p.overrides, p.bugs = config.Profile, config.Overrides, config.Bugs
	switch {
	case sf.seeds == 0 && sf.duration == "":
		return p, usageErrorf("say how much to run: --seeds N or --duration D")
	case sf.seeds != 0 && sf.duration != "":
		return p, usageErrorf("--seeds and --duration exclude each other")
	case sf.workers < 1 || sf.workers > 1024:
		return p, usageErrorf("--workers %d: want 1 to 1024", sf.workers)
	}
	p.count, p.workers = sf.seeds, sf.workers
	if sf.duration != "" {
		if p.deadline, err = time.ParseDuration(sf.duration); err != nil || p.deadline <= 0 {
			return p, usageErrorf("--duration %q is not a positive Go duration such as 10m or 1h30m", sf.duration)
		}
	}
	if p.shard, p.of, err = parseShard(sf.shard); err != nil {
		return p, err
	}
	if sf.firstSeed == "" {
		sf.firstSeed = drawSeed()
		fmt.Fprintf(os.Stderr, "vsrsim: first seed %s\n", sf.firstSeed)
	}
	if p.first, err = entropy.ParseSeed(sf.firstSeed); err != nil {
		return p, usageErrorf("--first-seed: %v", err)
	}
	return p, nil
}

func parseShard(text string) (uint64, uint64, error) {
	i, n, ok := strings.Cut(text, "/")
	index, err1 := strconv.ParseUint(i, 10, 64)
	count, err2 := strconv.ParseUint(n, 10, 64)
	if !ok || err1 != nil || err2 != nil || count == 0 || index >= count {
		return 0, 0, usageErrorf("--shard %q: want I/N with 0 <= I < N", text)
	}
	return index, count, nil
}

// seed is the k-th seed of this shard: first + shard + k·of.
func (p *swarmPlan) seed(k uint64) string {
	return strconv.FormatUint(p.first+p.shard+k*p.of, 10)
}

type swarmFailure struct {
	Seed    string `json:"seed"`
	Verdict string `json:"verdict"`
	Failure string `json:"failure"`
}

type swarmReport struct {
	Seeds          int            `json:"seeds"`
	Passed         int            `json:"passed"`
	Failed         int            `json:"failed"`
	Vacuous        int            `json:"vacuous"`
	ByVerdict      map[string]int `json:"by_verdict"`
	Failures       []swarmFailure `json:"failures"`
	WallSeconds    float64        `json:"wall_seconds"`
	SeedsPerSecond float64        `json:"seeds_per_second"`
	Workers        int            `json:"workers"`
	Shard          string         `json:"shard"`
	Ticks          uint64         `json:"ticks"`
	Committed      uint64         `json:"requests_committed"`
	// Reached counts the seeds in which each mechanism of the run's vacuity report
	// happened at least once (checkpoints, state transfers, the ring wrapping).
	Reached  map[string]int `json:"mechanisms_reached"`
	exitCode int
}

type swarmJob struct {
	k      uint64
	result sim.Result
	err    error
}

// runSwarm runs the plan's seeds on its workers and gathers the results in seed order.
func runSwarm(p swarmPlan, out string) swarmReport {
	start := time.Now()
	jobs := make(chan uint64)
	results := make(chan swarmJob)
	var wg sync.WaitGroup
	for w := 0; w < p.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				r, err := runTimed(sim.RunConfig{Seed: p.seed(k), Profile: p.profile, Overrides: p.overrides, Bugs: p.bugs})
				results <- swarmJob{k: k, result: r, err: err}
			}
		}()
	}
	go func() {
		for k := uint64(0); p.count == 0 || k < p.count; k++ {
			if p.deadline > 0 && time.Since(start) >= p.deadline {
				break
			}
			jobs <- k
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	bar := newBar(p)
	var done []swarmJob
	for job := range results {
		done = append(done, job)
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	sort.Slice(done, func(i, j int) bool { return done[i].k < done[j].k })
	return summarize(p, done, out, time.Since(start))
}

// newBar shows progress on a terminal only: logs and pipes get the summary alone.
func newBar(p swarmPlan) *progressbar.ProgressBar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	total := int64(p.count)
	if total == 0 {
		total = -1
	}
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("seeds"), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("seeds"), progressbar.OptionClearOnFinish())
}

func summarize(p swarmPlan, done []swarmJob, out string, wall time.Duration) swarmReport {
	r := swarmReport{Seeds: len(done), ByVerdict: map[string]int{}, Failures: []swarmFailure{},
		WallSeconds: wall.Seconds(), Workers: p.workers, Shard: fmt.Sprintf("%d/%d", p.shard, p.of),
		Reached: map[string]int{}}
	for _, job := range done {
		res := &job.result
		if job.err != nil {
			res.Verdict, res.Failure = sim.VerdictCrash, job.err.Error()
		}
		r.ByVerdict[res.Verdict.String()]++
		r.Ticks += res.Ticks
		r.Committed += res.Stats.RequestsCommitted
		if res.Vacuous() {
			r.Vacuous++
		}
		// map order: each count is its own.
		for name, n := range res.Vacuity.Mechanisms {
			if n > 0 {
				r.Reached[name]++
			}
		}
		if res.Verdict == sim.VerdictPass {
			r.Passed++
			continue
		}
		r.Failed++
		seed := p.seed(job.k)
		r.Failures = append(r.Failures, swarmFailure{Seed: seed, Verdict: res.Verdict.String(), Failure: res.Failure})
		if r.exitCode == 0 {
			r.exitCode = res.Verdict.ExitCode()
		}
		if out != "" {
			writeFailure(out, p, seed, res)
		}
	}
	if r.WallSeconds > 0 {
		r.SeedsPerSecond = float64(r.Seeds) / r.WallSeconds
	}
	return r
}

func writeFailure(out string, p swarmPlan, seed string, res *sim.Result) {
	options := map[string]string{}
	for _, o := range p.overrides {
		options[o.Name] = o.Value
	}
	e := sim.CorpusEntry{Seed: seed, Profile: p.profile.String(), Options: options, Bugs: p.bugs.String(), Expect: res.Verdict.String(),
		Failure: res.Failure, Found: fmt.Sprintf("%s by vsrsim swarm", time.Now().UTC().Format("2006-01-02"))}
	path := filepath.Join(out, fmt.Sprintf("seed-%s.json", seed))
	if err := sim.WriteCorpusEntry(path, &e); err != nil {
		fmt.Fprintf(os.Stderr, "vsrsim: could not write %s: %v\n", path, err)
	}
}

// countsLine renders counts by name as "name n, name n", names sorted, underscores as
// spaces.
func countsLine(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	// map order: the names are sorted below.
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(name, "_", " "), counts[name]))
	}
	return strings.Join(parts, ", ")
}

func printSwarm(r swarmReport) {
	table(os.Stderr, []string{"seeds", "passed", "failed", "vacuous", "verdicts", "seeds/s", "wall s"},
		[][]string{{strconv.Itoa(r.Seeds), strconv.Itoa(r.Passed), strconv.Itoa(r.Failed), strconv.Itoa(r.Vacuous),
			countsLine(r.ByVerdict), strconv.FormatFloat(r.SeedsPerSecond, 'f', 1, 64),
			strconv.FormatFloat(r.WallSeconds, 'f', 1, 64)}})
	if len(r.Reached) > 0 {
		fmt.Fprintf(os.Stderr, "seeds that reached: %s\n", countsLine(r.Reached))
	}
	for _, f := range r.Failures {
		fmt.Fprintf(os.Stderr, "seed %s: %s: %s\n  reproduce: vsrsim run --seed %s\n", f.Seed, f.Verdict, f.Failure, f.Seed)
	}
}
