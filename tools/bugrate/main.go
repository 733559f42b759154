package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vsrsim/vsrsim/core"
)

type options struct {
	attempts int
	cap      time.Duration
	bugs     []string
	workers  int
	seed     uint64
}

// attempt is one search for one bug: when it found it, how, and what failed.
type attempt struct {
	bug      string
	searcher string // "fuzzer" or "swarm"
	start    string // the random start: the fuzzer's VSRSIM_FUZZ_SEED, the swarm's first seed
	found    bool
	seconds  float64 // to the failure, or the whole search when nothing was found
	how      string  // where the failure came from
	failure  string  // its first line
	startup  float64 // the fuzzer's: seconds from go test to its first line of progress
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bugrate: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bugrate: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bugrate", flag.ContinueOnError)
	fs.IntVar(&o.attempts, "k", 3, "attempts per bug and searcher")
	fs.DurationVar(&o.cap, "cap", 3*time.Minute, "the longest an attempt searches")
	bugs := fs.String("bugs", strings.Join(core.BugNames(), ","),
		"planted bugs to measure, comma-separated")
	fs.IntVar(&o.workers, "workers", 2,
		"workers of the swarm, and of the fuzzer (go test -parallel)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the random starts (default: drawn and printed)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.attempts < 1 || o.cap < time.Second || o.workers < 1 {
		return nil, fmt.Errorf("want -k >= 1, -cap >= 1s, -workers >= 1")
	}
	for _, name := range strings.Split(*bugs, ",") {
		if _, err := core.ParseBugs(name); err != nil || name == "" {
			return nil, fmt.Errorf("-bugs: %q is not one of %s", name,
				strings.Join(core.BugNames(), ", "))
		}
		o.bugs = append(o.bugs, name)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

func run(ctx context.Context, o *options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	command := fmt.Sprintf("go run ./tools/bugrate -k %d -cap %v -bugs %s -workers %d -seed %d",
		o.attempts, o.cap, strings.Join(o.bugs, ","), o.workers, o.seed)
	loadBefore := loadAverage()
	began := time.Now()
	fmt.Fprintf(os.Stderr, "bugrate: %s\n", command)
	if err := checkTree(ctx, o.workers); err != nil {
		return err
	}
	random := rand.New(rand.NewPCG(o.seed, 0x6275677261746521))
	var attempts []attempt
	for _, bug := range o.bugs {
		for k := 0; k < o.attempts; k++ {
			// The swarm's first seed leaves room for the seeds after it.
			fuzzSeed, swarmSeed := random.Uint64(), random.Uint64()>>1
			for _, searcher := range []func() (attempt, error){
				func() (attempt, error) {
					return fuzzAttempt(ctx, bug, fuzzSeed, o.workers, o.cap)
				},
				func() (attempt, error) {
					return swarmAttempt(ctx, bug, swarmSeed, o.workers, o.cap)
				},
			} {
				a, err := searcher()
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "%s %s %d/%d: %s\n", bug, a.searcher, k+1, o.attempts,
					describe(&a))
				attempts = append(attempts, a)
			}
		}
	}
	report(os.Stdout, &setting{command: command, o: o, began: began, loadBefore: loadBefore,
		loadAfter: loadAverage()}, attempts)
	return nil
}

// moduleRoot is the directory of the module bugrate belongs to: go test runs from there.
func moduleRoot() (string, error) {
	list := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vsrsim/vsrsim")
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %v (run bugrate inside the vsrsim module)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// loadAverage reads the machine's load (Linux); "unknown" elsewhere.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

func describe(a *attempt) string {
	if !a.found {
		return fmt.Sprintf("nothing in %.0f s (start %s)", a.seconds, a.start)
	}
	return fmt.Sprintf("%.1f s, %s (start %s): %s", a.seconds, a.how, a.start, a.failure)
}

// revision names the code measured: the commit, and whether the tree differs from it.
func revision() string {
	head, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	text := strings.TrimSpace(string(head))
	status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		text += " with uncommitted changes"
	}
	return text
}

func machine() string {
	return fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), runtime.Version())
}
