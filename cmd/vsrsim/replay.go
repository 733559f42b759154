package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vsrsim/vsrsim/sim"
)

// exitMismatch: replay found entries that no longer give their expected verdict.
const exitMismatch = 1

func newReplayCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "replay [PATH...]",
		Short: "Replay corpus entries (default: seeds/), each against the verdict it expects",
		Long: "Replay corpus entries, files or directories of *.json (default: seeds/). Each entry\n" +
			"runs and must give the verdict it expects. Exit 0 when every entry matches, 1 when\n" +
			"one does not, 2 when an entry cannot be read.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"seeds"}
			}
			files, err := sim.CorpusFiles(args)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if len(files) == 0 {
				return usageErrorf("no corpus entries in %v", args)
			}
			entries := make([]sim.CorpusEntry, len(files))
			for i, f := range files {
				if entries[i], err = sim.ReadCorpusEntry(f); err != nil {
					return usageErrorf("%v", err)
				}
			}
			return replayEntries(entries, jsonOut)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the outcome of every entry as one JSON object on stdout")
	return cmd
}

type replayOutcome struct {
	Entry   string  `json:"entry"`
	Expect  string  `json:"expect"`
	Got     string  `json:"got"`
	Failure string  `json:"failure,omitempty"`
	Ticks   uint64  `json:"ticks"`
	Seconds float64 `json:"wall_seconds"`
	Match   bool    `json:"match"`
}

func replayEntries(entries []sim.CorpusEntry, jsonOut bool) error {
	var outcomes []replayOutcome
	var rows [][]string
	mismatches := 0
	for i := range entries {
		e := &entries[i]
		config, err := e.RunConfig()
		if err != nil {
			return usageErrorf("%s: %v", e.Path, err)
		}
		r, err := runTimed(config)
		if err != nil {
			return usageErrorf("%s: %v", e.Path, err)
		}
		o := replayOutcome{Entry: filepath.Base(e.Path), Expect: e.Expect, Got: r.Verdict.String(),
			Failure: r.Failure, Ticks: r.Ticks, Seconds: r.WallSeconds, Match: e.Matches(&r)}
		if !o.Match {
			mismatches++
		}
		outcomes = append(outcomes, o)
		mark := "ok"
		if !o.Match {
			mark = "MISMATCH"
		}
		rows = append(rows, []string{o.Entry, o.Expect, o.Got, strconv.FormatUint(o.Ticks, 10), mark})
	}
	table(os.Stderr, []string{"entry", "expected", "got", "ticks", ""}, rows)
	for _, o := range outcomes {
		if !o.Match {
			fmt.Fprintf(os.Stderr, "%s: expected %s, got %s: %s\n", o.Entry, o.Expect, o.Got, o.Failure)
		}
	}
	if jsonOut {
		if err := writeJSON(map[string]any{"entries": outcomes, "mismatches": mismatches}); err != nil {
			return err
		}
	}
	if mismatches > 0 {
		return exitWith(exitMismatch)
	}
	return nil
}
