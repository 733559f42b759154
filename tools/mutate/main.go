package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vsrsim/vsrsim/entropy"
)

// pkgDir is the package mutated, relative to the module's root.
const pkgDir = "core"

type options struct {
	list      bool
	mutants   int
	seed      uint64
	sites     []string
	seeds     int
	firstSeed string
	first     uint64 // firstSeed parsed
	chunk     int
	workers   int
	requests  int
	timeout   time.Duration
	memoryMB  int
	jsonOut   string
	tests     bool
	rev       string
	extra     []string // swarm flags after --
}

// siteList collects --sites, comma-separated and repeatable.
type siteList []string

func (s *siteList) String() string { return strings.Join(*s, ",") }
func (s *siteList) Set(v string) error {
	for _, ref := range strings.Split(v, ",") {
		if ref = strings.TrimSpace(ref); ref != "" {
			*s = append(*s, ref)
		}
	}
	return nil
}

func parseFlags(args []string) (*options, *flag.FlagSet, error) {
	o := &options{}
	var sites siteList
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are one line of ours, not the usage
	fs.BoolVar(&o.list, "list", false,
		"list the sites (id, kind, line) and exit: every one, or those --mutants or --sites choose")
	fs.IntVar(&o.mutants, "mutants", 0, "run this many sites drawn from --seed")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the draw of --mutants")
	fs.Var(&sites, "sites",
		"run these sites: ids, or file:line for every site of a line (comma-separated)")
	fs.IntVar(&o.seeds, "seeds", 100, "swarm seeds per mutant")
	fs.StringVar(&o.firstSeed, "first-seed", "1", "the first swarm seed, the same for every mutant")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "swarm workers")
	fs.IntVar(&o.chunk, "chunk", 20,
		"seeds per swarm process; a mutant stops at its first failing chunk (0: one swarm)")
	fs.IntVar(&o.requests, "requests", 0, "passed to the swarm as --requests (0: the seed's draw)")
	fs.DurationVar(&o.timeout, "timeout", 0,
		"time limit of a mutant's swarm (0: ten times the baseline's, at least 2m)")
	fs.IntVar(&o.memoryMB, "memory-mb", 4096, "memory a mutant's simulator may write to, in MiB")
	fs.StringVar(&o.jsonOut, "json", "",
		"write every record to this file (rewritten as mutants finish)")
	fs.BoolVar(&o.tests, "tests", false, "also run go test ./core on each survivor, reported apart")
	fs.StringVar(&o.rev, "rev", "",
		"measure the .go files of this git revision, not the working tree's")
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	o.sites = sites
	o.extra = fs.Args()
	if len(o.extra) > 0 && !slices.Contains(args, "--") {
		return nil, fs, fmt.Errorf("unexpected argument %q: swarm flags go after --", o.extra[0])
	}
	switch {
	case o.mutants != 0 && len(o.sites) > 0:
		return nil, fs, errors.New("--mutants and --sites exclude each other")
	case !o.list && o.mutants == 0 && len(o.sites) == 0:
		return nil, fs, errors.New("say what to do: --mutants N, --sites LIST or --list")
	case o.mutants < 0:
		return nil, fs, fmt.Errorf("--mutants %d: want a positive count", o.mutants)
	case o.seeds < 1:
		return nil, fs, fmt.Errorf("--seeds %d: want at least 1", o.seeds)
	case o.workers < 1:
		return nil, fs, fmt.Errorf("--workers %d: want at least 1", o.workers)
	case o.requests < 0 || o.timeout < 0 || o.chunk < 0:
		return nil, fs, errors.New("--requests, --timeout and --chunk cannot be negative")
	case o.memoryMB < 256:
		return nil, fs, fmt.Errorf("--memory-mb %d: want at least 256", o.memoryMB)
	}
	first, err := entropy.ParseSeed(o.firstSeed)
	if err != nil {
		return nil, fs, fmt.Errorf("--first-seed: %v", err)
	}
	o.first = first
	return o, fs, nil
}

func main() { os.Exit(run(os.Args[1:])) }

// run is the whole command; it returns the exit code: 0 done, 1 the tool failed, 2 bad input.
func run(args []string) int {
	o, fs, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(fs)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v (-help lists the flags)\n", err)
		return 2
	}
	root, err := findRoot()
	if err != nil {
		return fail(err)
	}
	snap, err := takeSnapshot(root, o.rev)
	if err != nil {
		return fail(err)
	}
	fset, info, sources, err := loadPackage(filepath.Join(root, pkgDir), snap.pkgFiles(pkgDir))
	if err != nil {
		return fail(err)
	}
	sites := enumerate(fset, info, sources)
	chosen := sites
	switch {
	case o.mutants > 0:
		chosen = sample(sites, o.mutants, o.seed)
	case len(o.sites) > 0:
		if chosen, err = selectSites(sites, o.sites); err != nil {
			fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
			return 2
		}
	}
	if o.list { // what would run, or every site
		for _, s := range chosen {
			fmt.Printf("%s\t%s\t%s\n", s.ID(), s.Kind, s.Code)
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return measure(ctx, o, root, snap, len(sites), chosen, args)
}

// measure runs the baseline, then every chosen mutant, and reports.
func measure(ctx context.Context, o *options, root string, snap *snapshot, total int,
	chosen []Site, args []string) int {
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	if err := snap.writeFiles(tmp); err != nil {
		return fail(err)
	}
	plan := swarmPlan{seeds: o.seeds, first: o.first, chunk: o.chunk, workers: o.workers,
		requests: o.requests, extra: o.extra}
	r := &runner{root: root, tmp: tmp, pkg: pkgDir, snap: snap, memoryMB: o.memoryMB, tests: o.tests,
		plan: plan, timeout: time.Hour}
	report := &Report{Command: "go run ./tools/mutate " + strings.Join(args, " "), Package: pkgDir,
		Started: time.Now().UTC().Format(time.RFC3339), Sites: total, Records: []Record{},
		Swarm: plan.args(plan.first, plan.seeds), Chunk: plan.chunk}
	report.Commit, report.Dirty = gitState(root, o.rev)
	if o.mutants > 0 {
		report.Seed = o.seed
	}
	fmt.Fprintf(os.Stderr, "mutate: %d sites in %s/ at %s%s; %d mutants, each on: vsrsim %s\n",
		total, pkgDir, short(report.Commit), dirtyNote(report.Dirty), len(chosen),
		strings.Join(report.Swarm, " "))
	if code := baseline(ctx, r, o, report); code >= 0 {
		return code
	}
	for i := range chosen {
		rec, err := r.run(ctx, &chosen[i], i)
		if err != nil && ctx.Err() != nil {
			printTable(os.Stderr, report) // what finished before the interrupt
			return fail(fmt.Errorf("interrupted after %d of %d mutants", i, len(chosen)))
		}
		if err != nil {
			return fail(err)
		}
		report.add(&rec)
		progress(os.Stderr, i+1, len(chosen), &rec)
		if o.jsonOut != "" {
			if err := writeJSON(o.jsonOut, report); err != nil {
				return fail(err)
			}
		}
	}
	printTable(os.Stderr, report)
	return 0
}

// baseline runs the unmutated snapshot: every seed must pass, or no mutant can be judged by
// those seeds. It sets the time limit from it. It returns an exit code, or -1 to go on.
func baseline(ctx context.Context, r *runner, o *options, report *Report) int {
	rec, err := r.run(ctx, nil, 999)
	if err != nil && ctx.Err() != nil {
		return fail(errors.New("interrupted during the baseline"))
	}
	if err != nil {
		return fail(err)
	}
	report.Baseline = rec
	switch rec.Verdict {
	case verdictSurvived:
	case verdictError:
		fmt.Fprintf(os.Stderr, "mutate: the unmutated %s/ cannot be run: %s\n", pkgDir, rec.Error)
		return 1
	}
	if rec.KilledBy == "process" { // unmutated, the simulator dies only on flags it refuses
		fmt.Fprintf(os.Stderr, "mutate: the swarm does not run: %s\n", rec.Failure)
		return 2
	}
	switch rec.Verdict {
	case verdictSurvived:
	default:
		fmt.Fprintf(os.Stderr, "mutate: the unmutated %s/ fails already (%s seed %s: %s); "+
			"choose seeds that pass\n", pkgDir, rec.KilledBy, rec.Seed, rec.Failure)
		return 1
	}
	r.timeout = o.timeout
	if r.timeout == 0 {
		r.timeout = max(2*time.Minute, time.Duration(10*rec.SwarmSeconds*float64(time.Second)))
		r.timeout = r.timeout.Round(time.Second)
	}
	report.TimeoutSeconds = r.timeout.Seconds()
	fmt.Fprintf(os.Stderr, "mutate: baseline passes %d seeds in %.1f s (build %.1f s); "+
		"time limit per mutant %s\n", rec.Seeds, rec.SwarmSeconds, rec.BuildSeconds, r.timeout)
	return -1
}

// findRoot walks up from the working directory to the module that holds the package.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, errMod := os.Stat(filepath.Join(dir, "go.mod"))
		_, errPkg := os.Stat(filepath.Join(dir, pkgDir))
		if errMod == nil && errPkg == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no module with a %s/ directory above the working directory", pkgDir)
		}
		dir = parent
	}
}

// takeSnapshot reads the code the run measures: a revision's, or the working tree's.
func takeSnapshot(root, rev string) (*snapshot, error) {
	if rev != "" {
		return snapshotRev(root, rev)
	}
	return snapshotTree(root)
}

// gitState is the commit measured, and with the working tree, the .go files that differ
// from HEAD: a score is cited with the code it measured.
func gitState(root, rev string) (string, []string) {
	head, err := exec.Command("git", "-C", root, "rev-parse", cmp.Or(rev, "HEAD")+"^{commit}").Output()
	if err != nil {
		return "unknown", nil
	}
	if rev != "" {
		return strings.TrimSpace(string(head)), nil
	}
	status, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--", "*.go").Output()
	var dirty []string
	for _, line := range strings.Split(string(status), "\n") {
		if len(line) > 3 && !skippedPath(line[3:]) { // XY path
			dirty = append(dirty, line[3:])
		}
	}
	return strings.TrimSpace(string(head)), dirty
}

func short(commit string) string { return commit[:min(len(commit), 12)] }

func dirtyNote(dirty []string) string {
	if len(dirty) == 0 {
		return ""
	}
	return fmt.Sprintf(" with %d .go files uncommitted (--json lists them)", len(dirty))
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
	return 1
}

func usage(fs *flag.FlagSet) {
	fmt.Println("Usage: go run ./tools/mutate (--mutants N [--seed S] | --sites LIST | --list) " +
		"[flags] [-- swarm flags]\n\nMutates core/ one token at a time and runs the swarm on each " +
		"mutant (doc.go says what is mutated and what is not).\n\nFlags:")
	fs.SetOutput(os.Stdout)
	fs.PrintDefaults()
}
