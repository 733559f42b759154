package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/sim"
)

func newShrinkCommand() *cobra.Command {
	var rf runFlags
	var budget int
	var out string
	var jsonOut, verbose bool
	cmd := &cobra.Command{
		Use:   "shrink [ENTRY.json]",
		Short: "Find a smaller input that fails the same way, and write it as a corpus entry",
		Long: "Shrink a failing seed (given by flags as for run) or corpus entry: switch fault\n" +
			"classes off, cut the run at the failure, use fewer requests, clients and replicas,\n" +
			"lower fault rates, shorten a choice stream, as long as the run still fails with the\n" +
			"same verdict and invariant. Writes the result as a corpus entry (--out, never\n" +
			"replacing a file) and prints how much smaller it is.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if budget < 1 {
				return usageErrorf("--budget %d: want at least 1 run", budget)
			}
			config, note, err := shrinkInput(&rf, args)
			if err != nil {
				return err
			}
			if out == "" {
				out = fmt.Sprintf("shrunk-%s.json", config.Seed)
			}
			if _, err := os.Stat(out); err == nil {
				return usageErrorf("--out: %s exists; choose another path", out)
			}
			var progress func(string)
			if verbose {
				progress = func(line string) { fmt.Fprintf(os.Stderr, "  %s\n", line) }
			}
			start := time.Now()
			report, err := sim.Shrink(config, budget, progress)
			if err != nil {
				return usageErrorf("%v", err)
			}
			entry := shrunkEntry(&report, note)
			if err := sim.WriteCorpusEntry(out, &entry); err != nil {
				return usageErrorf("--out: %v", err)
			}
			printShrink(&report, out, time.Since(start))
			if jsonOut {
				return writeJSON(map[string]any{"entry": out, "runs": report.Runs, "signature": report.After.Signature(),
					"before": shrinkSize(&report.Before), "after": shrinkSize(&report.After)})
			}
			return nil
		},
	}
	rf.register(cmd.Flags(), true)
	cmd.Flags().IntVar(&budget, "budget", 200, "most runs to spend")
	cmd.Flags().StringVar(&out, "out", "", "where to write the corpus entry (default shrunk-SEED.json)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print a summary as one JSON object on stdout")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each reduction kept")
	return cmd
}

// shrinkInput reads the failing input: a corpus entry, or a seed with flags.
func shrinkInput(rf *runFlags, args []string) (sim.RunConfig, string, error) {
	if len(args) == 1 {
		e, err := sim.ReadCorpusEntry(args[0])
		if err != nil {
			return sim.RunConfig{}, "", usageErrorf("%v", err)
		}
		config, err := e.RunConfig()
		if err != nil {
			return sim.RunConfig{}, "", usageErrorf("%s: %v", args[0], err)
		}
		return config, e.Note, nil
	}
	if rf.seed == "" {
		return sim.RunConfig{}, "", usageErrorf("give a failing seed (--seed) or a corpus entry")
	}
	config, err := rf.config(rf.seed)
	return config, "", err
}

// shrunkEntry is the corpus entry of a shrunk input: the options it overrides, as they
// differ from what the seed draws.
func shrunkEntry(r *sim.ShrinkReport, note string) sim.CorpusEntry {
	drawn, _, _ := sim.Prepare(sim.RunConfig{Seed: r.Config.Seed, Entropy: r.Config.Entropy,
		EntropyMode: r.Config.EntropyMode, Profile: r.Config.Profile})
	options := map[string]string{}
	for _, o := range r.After.Options.Diff(&drawn) {
		options[o.Name] = o.Value
	}
	e := sim.CorpusEntry{Seed: r.Config.Seed, Profile: r.Config.Profile.String(), Options: options,
		Bugs: r.Config.Bugs.String(), Expect: r.After.Verdict.String(), Failure: r.After.Invariant,
		Found: fmt.Sprintf("%s by vsrsim shrink (%d runs)", time.Now().UTC().Format("2006-01-02"), r.Runs), Note: note}
	if r.Config.Entropy != nil {
		e.Entropy = encodeStream(r.Config.Entropy)
	}
	if r.Config.EntropyMode != entropy.ModeBytes {
		e.Stream = r.Config.EntropyMode.String()
	}
	return e
}

type size struct {
	Ticks    uint64 `json:"ticks"`
	Replicas int    `json:"replicas"`
	Clients  int    `json:"clients"`
	Requests int    `json:"requests"`
	Faults   uint64 `json:"faults_injected"`
	Classes  int    `json:"fault_classes"`
}

func shrinkSize(r *sim.Result) size {
	var faults uint64
	for _, n := range r.Vacuity.Injected {
		faults += n
	}
	return size{Ticks: r.Ticks, Replicas: r.Options.Replicas, Clients: r.Options.Clients,
		Requests: r.Options.Requests, Faults: faults, Classes: len(r.Vacuity.Enabled)}
}

func printShrink(r *sim.ShrinkReport, out string, wall time.Duration) {
	b, a := shrinkSize(&r.Before), shrinkSize(&r.After)
	row := func(name string, before, after uint64) []string {
		return []string{name, strconv.FormatUint(before, 10), strconv.FormatUint(after, 10)}
	}
	table(os.Stderr, []string{"", "before", "after"}, [][]string{
		row("ticks", b.Ticks, a.Ticks), row("replicas", uint64(b.Replicas), uint64(a.Replicas)),
		row("clients", uint64(b.Clients), uint64(a.Clients)), row("requests", uint64(b.Requests), uint64(a.Requests)),
		row("fault classes", uint64(b.Classes), uint64(a.Classes)), row("faults injected", b.Faults, a.Faults),
	})
	fmt.Fprintf(os.Stderr, "%s, %d runs in %.1fs; written to %s\n", r.After.Signature(), r.Runs, wall.Seconds(), out)
	fmt.Fprintf(os.Stderr, "replay: vsrsim replay %s\n", out)
}
