package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/sim"
)

// runFlags are the flags of commands that run seeds: a seed, a profile, and one flag per
// knob of the options table (overrides of what the seed draws).
type runFlags struct {
	seed    string
	profile string
	bugs    string
	knobs   []*knobFlag
}

// knobFlag records an override when it is set; it is validated by the options table.
type knobFlag struct {
	info  sim.KnobInfo
	value string
	set   bool
}

func (f *knobFlag) String() string { return f.value }
func (f *knobFlag) Type() string   { return "value" }
func (f *knobFlag) Set(text string) error {
	f.value, f.set = text, true
	return nil
}

func (rf *runFlags) register(flags *pflag.FlagSet, withSeed bool) {
	if withSeed {
		flags.StringVar(&rf.seed, "seed", "", "seed: a decimal uint64 or a 40-hex commit SHA (default: drawn and printed)")
	}
	flags.StringVar(&rf.profile, "profile", "swarm", "swarm (every knob drawn), calm (no faults) or performance")
	flags.StringVar(&rf.bugs, "bug", "", "build the replicas with deliberate bugs, to see the checkers find them: "+
		strings.Join(core.BugNames(), ", "))
	for _, info := range sim.Knobs() {
		f := &knobFlag{info: info}
		rf.knobs = append(rf.knobs, f)
		flags.Var(f, info.Flag, info.Help+" (overrides the seed's draw)")
	}
}

// overrides lists the knobs set on the command line, in table order.
func (rf *runFlags) overrides() []sim.Override {
	var list []sim.Override
	for _, f := range rf.knobs {
		if f.set {
			list = append(list, sim.Override{Name: f.info.Name, Value: f.value})
		}
	}
	return list
}

// config builds the run a seed and these flags describe.
func (rf *runFlags) config(seed string) (sim.RunConfig, error) {
	profile, err := rf.parseProfile()
	if err != nil {
		return sim.RunConfig{}, err
	}
	bugs, err := core.ParseBugs(rf.bugs)
	if err != nil {
		return sim.RunConfig{}, usageErrorf("--bug: %v", err)
	}
	config := sim.RunConfig{Seed: seed, Profile: profile, Overrides: rf.overrides(), Bugs: bugs}
	if _, _, err := sim.Prepare(config); err != nil {
		return sim.RunConfig{}, usageErrorf("%v", err)
	}
	return config, nil
}

func (rf *runFlags) parseProfile() (sim.Profile, error) {
	profile, err := sim.ParseProfile(rf.profile)
	if err != nil {
		return 0, usageErrorf("--profile: %v", err)
	}
	return profile, nil
}

func newRunCommand() *cobra.Command {
	var rf runFlags
	var jsonOut, verbose, force bool
	var tracePath, pprofPath, historyPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one seed: the safety phase, then the liveness phase",
		Long: "Run one seed of the simulation and check it. The same seed, options and build\n" +
			"always give the same run and the same trace_hash.\n\n" +
			"Exit codes: 0 pass, 10 correctness, 11 liveness, 12 crash, 2 bad input.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rf.seed == "" {
				rf.seed = drawSeed()
				fmt.Fprintf(os.Stderr, "vsrsim: seed %s\n", rf.seed)
			}
			config, err := rf.config(rf.seed)
			if err != nil {
				return err
			}
			if tracePath != "" {
				f, err := createExclusive(tracePath, force)
				if err != nil {
					return usageErrorf("--trace: %v", err)
				}
				defer f.Close()
				buffered := bufio.NewWriter(f)
				defer buffered.Flush()
				config.Trace = buffered
			}
			if verbose {
				config.Verbose = os.Stderr
			}
			if pprofPath != "" {
				stop, err := startCPUProfile(pprofPath, force)
				if err != nil {
					return usageErrorf("--pprof: %v", err)
				}
				defer stop()
			}
			result, err := runTimed(config)
			if err != nil {
				return usageErrorf("%v", err)
			}
			report(os.Stderr, &result, &rf)
			if historyPath != "" {
				if err := writeHistory(historyPath, &result, force); err != nil {
					return usageErrorf("--history: %v", err)
				}
			}
			if linearizabilityFailure(&result) {
				visualize(&result, historyPath, force)
			}
			if jsonOut {
				if err := writeJSON(result); err != nil {
					return err
				}
			}
			return exitWith(result.Verdict.ExitCode())
		},
	}
	rf.register(cmd.Flags(), true)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as one JSON object on stdout")
	cmd.Flags().StringVar(&tracePath, "trace", "", "write the event trace to this file, one line per event")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "stream replica status changes to stderr")
	cmd.Flags().BoolVar(&force, "force", false, "replace output files that exist")
	cmd.Flags().StringVar(&pprofPath, "pprof", "", "write a CPU profile of the run to this file (go tool pprof)")
	cmd.Flags().StringVar(&historyPath, "history", "", "write the client history to this file as JSON (vsrsim check-history reads it)")
	return cmd
}

// runTimed runs and measures wall time: the only clock the simulation never sees.
func runTimed(config sim.RunConfig) (sim.Result, error) {
	start := time.Now()
	result, err := sim.Run(config)
	result.WallSeconds = time.Since(start).Seconds()
	return result, err
}

// drawSeed picks a seed for a run without --seed.
func drawSeed() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	return strconv.FormatUint(binary.LittleEndian.Uint64(b[:]), 10)
}

// report prints the summary table, and for a failure every violation and the command
// that reproduces it.
func report(w io.Writer, r *sim.Result, rf *runFlags) {
	s := &r.Stats
	n := &s.Network
	table(w, []string{"seed", "verdict", "ticks", "replicas", "clients", "committed", "replies",
		"view changes", "crashes", "recoveries", "wall s"},
		[][]string{{r.Seed, r.Verdict.String(), u(r.Ticks), strconv.Itoa(s.Replicas), strconv.Itoa(s.Clients),
			u(s.RequestsCommitted), u(s.Replies), u(s.ViewChanges), u(s.Crashes), u(s.Recoveries),
			strconv.FormatFloat(r.WallSeconds, 'f', 3, 64)}})
	table(w, []string{"sent", "delivered", "dropped", "duplicated", "corrupted", "misrouted", "partitions", "clogs"},
		[][]string{{u(n.Sent), u(n.Delivered), u(n.Dropped), u(n.Duplicated), u(n.Corrupted), u(n.Misrouted),
			u(n.Partitions), u(n.Clogs)}})
	d := &s.Storage
	table(w, []string{"reads", "writes", "bit rot", "read errors", "misdirected writes", "misdirected reads",
		"torn writes", "lost writes", "wipes", "cluster crashes"},
		[][]string{{u(d.Reads), u(d.Writes), u(d.BitRot), u(d.ReadErrors), u(d.MisdirectedWrites),
			u(d.MisdirectedReads), u(d.TornWrites), u(d.LostWrites), u(s.Wipes), u(s.ClusterCrashes)}})
	if r.Verdict == sim.VerdictPass {
		return
	}
	fmt.Fprintf(w, "%s: %s\n", r.Verdict, r.Failure)
	for _, v := range r.Violations[min(1, len(r.Violations)):] {
		fmt.Fprintf(w, "  also: %s\n", v)
	}
	if r.Stack != "" {
		fmt.Fprintf(w, "%s\n", r.Stack)
	}
	bugs := ""
	if r.Bugs != "" {
		bugs = " --bug " + r.Bugs
	}
	fmt.Fprintf(w, "reproduce: vsrsim run --seed %s --profile %s%s%s\n", r.Seed, r.Profile, bugs, overrideFlags(rf))
}

func overrideFlags(rf *runFlags) string {
	text := ""
	for _, o := range rf.overrides() {
		for _, f := range rf.knobs {
			if f.info.Name == o.Name {
				text += fmt.Sprintf(" --%s %s", f.info.Flag, o.Value)
			}
		}
	}
	return text
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }
