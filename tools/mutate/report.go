package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/olekukonko/tablewriter"
)

// Report is the whole run, as --json writes it: enough to cite a score, or to run the same
// mutants again (--sites with the records' ids) after the checkers change.
type Report struct {
	Command string   `json:"command"`
	Commit  string   `json:"commit"`          // HEAD when the snapshot was taken
	Dirty   []string `json:"dirty,omitempty"` // the package's files that differed from it
	Started string   `json:"started"`
	Package string   `json:"package"`
	Sites   int      `json:"sites"` // mutation sites in the package
	Seed    uint64   `json:"seed,omitempty"`
	// Swarm is the simulator's command line each mutant ran, after the binary, in chunks
	// of Chunk seeds (a mutant stops at its first failing chunk).
	Swarm          []string `json:"swarm"`
	Chunk          int      `json:"chunk"`
	TimeoutSeconds float64  `json:"timeout_seconds"`
	Baseline       Record   `json:"baseline"` // the snapshot unmutated: every seed must pass
	Killed         int      `json:"killed"`   // timeouts included
	Timeouts       int      `json:"timeouts"`
	Survived       int      `json:"survived"`
	Stillborn      int      `json:"stillborn"`
	Errors         int      `json:"errors"`
	Score          float64  `json:"score"` // killed / (killed + survived)
	Records        []Record `json:"records"`
}

// add counts a finished mutant, and compares a survivor's ticks with the baseline's.
func (r *Report) add(rec *Record) {
	if rec.Verdict == verdictSurvived && r.Baseline.Ticks > 0 && rec.Seeds == r.Baseline.Seeds {
		rec.TicksRatio = float64(rec.Ticks) / float64(r.Baseline.Ticks)
	}
	r.Records = append(r.Records, *rec)
	switch rec.Verdict {
	case verdictKilled:
		r.Killed++
	case verdictTimeout:
		r.Killed++
		r.Timeouts++
	case verdictSurvived:
		r.Survived++
	case verdictStillborn:
		r.Stillborn++
	default:
		r.Errors++
	}
	if r.Killed+r.Survived > 0 {
		r.Score = float64(r.Killed) / float64(r.Killed+r.Survived)
	}
}

// verdictText is a record's verdict in one line for people.
func verdictText(rec *Record) string {
	switch rec.Verdict {
	case verdictKilled:
		text := "killed by " + rec.KilledBy
		if rec.Invariant != "" && rec.Invariant != rec.KilledBy {
			text += " (" + rec.Invariant + ")"
		}
		if rec.Seed != "" {
			text += " at seed " + rec.Seed
		}
		return text
	case verdictTimeout:
		return "killed (timeout)"
	case verdictSurvived:
		text := "survived"
		switch {
		case rec.Ticks > 0 && rec.TicksRatio == 1:
			text += " (same ticks)"
		case rec.TicksRatio > 0:
			text += fmt.Sprintf(" (ticks ×%.3f)", rec.TicksRatio)
		}
		if rec.Tests != "" {
			text += "; unit tests: " + rec.Tests
		}
		return text
	case verdictStillborn:
		return "stillborn"
	}
	return "error: " + truncate(rec.Error, 80)
}

// progress prints one line as a mutant finishes.
func progress(w io.Writer, done, total int, rec *Record) {
	fmt.Fprintf(w, "mutate: [%d/%d] %s: %s (%.1f s)\n", done, total, rec.ID, verdictText(rec),
		rec.Seconds)
}

// printTable renders every mutant, then the score.
func printTable(w io.Writer, r *Report) {
	t := tablewriter.NewWriter(w)
	t.Header([]string{"mutant", "line", "verdict", "s"})
	for i := range r.Records {
		rec := &r.Records[i]
		_ = t.Append([]string{rec.ID, rec.Site.excerpt(56), truncate(verdictText(rec), 72),
			strconv.FormatFloat(rec.Seconds, 'f', 0, 64)})
	}
	_ = t.Render()
	fmt.Fprintf(w, "score: %d killed of %d (%.1f%%); %d survived, %d timed out (counted killed), "+
		"%d stillborn and %d errors (not counted)\n", r.Killed, r.Killed+r.Survived, 100*r.Score,
		r.Survived, r.Timeouts, r.Stillborn, r.Errors)
}

// writeJSON replaces path with the report; it is called after every mutant, so a long
// run that is stopped keeps what it measured.
func writeJSON(path string, r *Report) error {
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false) // ids and lines hold < > &: keep them readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
