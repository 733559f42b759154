package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vsrsim/vsrsim/lincheck"
	"github.com/vsrsim/vsrsim/sim"
)

// writeHistory exports a run's client history in vsrsim's JSON history format.
func writeHistory(path string, r *sim.Result, force bool) error {
	f, err := createExclusive(path, force)
	if err != nil {
		return err
	}
	h := lincheck.History{Format: lincheck.FormatVSRSim, Model: lincheck.ModelKV, TimeUnit: "tick", Operations: r.History}
	if err := lincheck.WriteHistoryJSON(f, &h); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func linearizabilityFailure(r *sim.Result) bool {
	for _, v := range r.Violations {
		if strings.Contains(v, "linearizability:") {
			return true
		}
	}
	return false
}

// visualize runs porcupine on a history the fast check found not linearizable and writes
// its HTML visualisation beside the history (or under a name of its own), within a time
// limit. Porcupine's search is the independent opinion: it is printed too.
func visualize(r *sim.Result, historyPath string, force bool) {
	path := historyPath + ".html"
	if historyPath == "" {
		path = fmt.Sprintf("vsrsim-%s-linearizability.html", r.Seed)
	}
	if _, err := os.Stat(path); err == nil && !force {
		fmt.Fprintf(os.Stderr, "not writing porcupine's visualisation: %s exists (--force replaces it)\n", path)
		return
	}
	h := lincheck.History{Format: lincheck.FormatVSRSim, Model: lincheck.ModelKV, TimeUnit: "tick", Operations: r.History}
	result := lincheck.Check(&h, lincheck.Options{Timeout: 20 * time.Second, VisualizePath: path,
		Strategy: lincheck.StrategyPorcupine})
	fmt.Fprintf(os.Stderr, "porcupine: %v; visualisation: %s\n", result.Verdict, path)
}
