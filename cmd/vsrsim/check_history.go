package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vsrsim/vsrsim/lincheck"
)

// checkHistoryFlags are the options of check-history.
type checkHistoryFlags struct {
	model     string
	timeout   time.Duration
	visualize string
	force     bool
	json      bool
}

// checkHistoryReport is the --json object: one per run, on stdout.
type checkHistoryReport struct {
	File        string  `json:"file"`
	Format      string  `json:"format"`
	Model       string  `json:"model"`
	Operations  int     `json:"operations"`
	Keys        int     `json:"keys"`
	Verdict     string  `json:"verdict"`
	Key         *string `json:"key,omitempty"`
	Explanation string  `json:"explanation"`
	Method      string  `json:"method"`
	// DecidedBy counts the keys each technique decided: "fast path" (unique values),
	// "sweep" (values that repeat), "porcupine" (the rest).
	DecidedBy map[string]int `json:"decided_by"`
	Seconds   float64        `json:"seconds"`
}

func newCheckHistoryCommand() *cobra.Command {
	var f checkHistoryFlags
	cmd := &cobra.Command{
		Use:   "check-history [--model kv|register] [--timeout 10s] [--visualize FILE] [--json] FILE",
		Short: "Check a client history for linearizability",
		Long: "Check a client history for linearizability: vsrsim's JSON history (run --history),\n" +
			"a Jepsen etcd register log, or a key-value log of EDN maps, recognised by content.\n" +
			"Prints \"linearizable\", \"not linearizable\" or \"unknown\" on stdout, and on stderr\n" +
			"the operations that cannot be ordered. The model defaults to the format's: register\n" +
			"for etcd logs, kv otherwise.\n\n" +
			"Each key is decided by the fast path when its values are unique, by the sweep when\n" +
			"they repeat (registers, puts, gets and cas), else by porcupine; the output says which.\n\n" +
			"Exit codes: 0 linearizable, 10 not linearizable, 11 gave up at the time limit,\n" +
			"2 unreadable or malformed input.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("check-history takes one history file, not %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return checkHistory(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model to check against: kv or register (default: the format's)")
	fl.DurationVar(&f.timeout, "timeout", lincheck.DefaultTimeout, "give up after this long (0: no limit)")
	fl.StringVar(&f.visualize, "visualize", "", "write porcupine's HTML visualisation to this file")
	fl.BoolVar(&f.force, "force", false, "replace the --visualize file if it exists")
	fl.BoolVar(&f.json, "json", false, "print the result as one JSON object on stdout")
	return cmd
}

// checkHistory reads, checks and reports one history, and returns the exit it calls for.
func checkHistory(stdout, stderr io.Writer, path string, f checkHistoryFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	h, err := lincheck.ReadHistory(path)
	if err != nil {
		return usageErrorf("check-history: %v", err)
	}
	res := lincheck.Check(h, opts)
	if res.Err != nil {
		return usageErrorf("check-history: %s: %v", path, res.Err)
	}
	model := opts.Model
	if model == "" {
		model = h.Model
	}
	report := checkHistoryReport{
		File: path, Format: string(h.Format), Model: string(model),
		Operations: len(h.Operations), Keys: res.Keys, Verdict: res.Verdict.String(),
		Explanation: strings.Join(res.Explanation, "\n"), Method: res.Method, DecidedBy: res.DecidedBy,
		Seconds: res.Elapsed.Seconds(),
	}
	if res.Verdict != lincheck.Linearizable {
		report.Key = &res.Key
	}
	if err := printCheckHistory(stdout, stderr, report, f.json); err != nil {
		return err
	}
	switch res.Verdict {
	case lincheck.Linearizable:
		return exitWith(exitPass)
	case lincheck.NotLinearizable:
		return exitWith(exitCorrectness)
	}
	return exitWith(exitLiveness)
}

// options validates the flags into checker options.
func (f checkHistoryFlags) options() (lincheck.Options, error) {
	var opts lincheck.Options
	if f.model != "" {
		m, err := lincheck.ParseModelKind(f.model)
		if err != nil {
			return opts, usageErrorf("check-history: --model: %v", err)
		}
		opts.Model = m
	}
	switch {
	case f.timeout < 0:
		return opts, usageErrorf("check-history: --timeout %v: must not be negative", f.timeout)
	case f.timeout == 0:
		opts.Timeout = -1 // no limit
	default:
		opts.Timeout = f.timeout
	}
	if f.visualize != "" {
		if _, err := os.Stat(f.visualize); err == nil && !f.force {
			return opts, usageErrorf("check-history: --visualize: %s exists; choose another path or pass --force to replace it", f.visualize)
		}
		opts.VisualizePath = f.visualize
	}
	return opts, nil
}

// printCheckHistory puts the verdict (or the JSON object) on stdout and the details on
// stderr, where people read them.
func printCheckHistory(stdout, stderr io.Writer, r checkHistoryReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false) // explanations are full of "->"
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if _, err := fmt.Fprintln(stdout, r.Verdict); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s on %s (%s, model %s), checked in %.3fs by %s%s\n",
		r.File, nounCount(r.Operations, "operation"), nounCount(r.Keys, "key"), r.Format, r.Model, r.Seconds, r.Method,
		decidedBy(r))
	if r.Verdict == lincheck.Unknown.String() {
		fmt.Fprintln(stderr, "gave up at the time limit; a longer --timeout (0 for none) may decide it:")
	}
	if r.Explanation != "" {
		fmt.Fprintln(stderr, r.Explanation)
	}
	return nil
}

// decidedBy says how many keys each technique decided, when there is more than one key.
func decidedBy(r checkHistoryReport) string {
	if r.Keys < 2 || len(r.DecidedBy) == 0 {
		return ""
	}
	var parts []string
	for _, m := range []string{lincheck.MethodFastPath, lincheck.MethodSweep, lincheck.MethodPorcupine} {
		if n := r.DecidedBy[m]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", m, n))
		}
	}
	return " (keys decided: " + strings.Join(parts, ", ") + ")"
}

func nounCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
