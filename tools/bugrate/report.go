package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// setting is what a reader needs to weigh the figures: how they were made, and on what.
type setting struct {
	command               string
	o                     *options
	began                 time.Time
	loadBefore, loadAfter string
}

// report prints, in Markdown, how the figures were made, the summary per bug, and every
// attempt.
func report(w io.Writer, s *setting, attempts []attempt) {
	o := s.o
	fmt.Fprintf(w, "Time to the first failure, FuzzCluster against the swarm, "+
		"on the planted bugs of core/bugs.go.\n\n")
	fmt.Fprintf(w, "- command: `%s`\n", s.command)
	fmt.Fprintf(w, "- code: %s; machine: %s; started %s, took %s\n", revision(), machine(),
		s.began.UTC().Format("2006-01-02 15:04 MST"), time.Since(s.began).Round(time.Second))
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s at the start, %s at the end\n",
		s.loadBefore, s.loadAfter)
	fmt.Fprintf(w, "- fuzzer: `VSRSIM_FUZZ_BUG=NAME VSRSIM_FUZZ_SEED=<random> %s`, a fresh fuzz "+
		"cache each attempt, the test binary built beforehand; timed from the start of go test, "+
		"so start-up (median %.1f s to the first progress line) and the seed corpus count\n",
		strings.Join(fuzzCommand(o.cap.String(), o.workers, "<fresh>"), " "),
		median(startups(attempts)))
	fmt.Fprintf(w, "- swarm: the seeds of `vsrsim swarm --bug NAME --first-seed <random> "+
		"--workers %d`, run in-process until the first failure\n", o.workers)
	fmt.Fprintf(w, "- %d attempts per bug and searcher, each stopped at %v; bugs per minute = "+
		"failures found / minutes searched, an attempt that found nothing counting its whole "+
		"search\n\n", o.attempts, o.cap)
	summary(w, o, attempts)
	fmt.Fprintln(w)
	if fast := fastSwarm(attempts); len(fast) > 0 {
		fmt.Fprintf(w, "The swarm finds %s in well under a second: there the figures compare "+
			"the fuzzer's fixed costs (start-up, the seed corpus, coverage instrumentation) "+
			"with a few swarm runs, not the two searches.\n\n", strings.Join(fast, ", "))
	}
	details(w, attempts)
}

// fastSwarm lists the bugs whose median swarm time is below a second.
func fastSwarm(attempts []attempt) []string {
	var fast []string
	byBug := map[string][]float64{}
	var order []string
	for _, a := range attempts {
		if a.searcher != "swarm" {
			continue
		}
		if _, ok := byBug[a.bug]; !ok {
			order = append(order, a.bug)
		}
		t := a.seconds
		if !a.found {
			t = math.Inf(1)
		}
		byBug[a.bug] = append(byBug[a.bug], t)
	}
	for _, bug := range order {
		if median(byBug[bug]) < 1 {
			fast = append(fast, "`"+bug+"`")
		}
	}
	return fast
}

func summary(w io.Writer, o *options, attempts []attempt) {
	header := []string{"bug", "fuzzer: median s", "found", "bugs/min",
		"swarm: median s", "found", "bugs/min"}
	var rows [][]string
	for _, bug := range o.bugs {
		row := []string{"`" + bug + "`"}
		for _, searcher := range []string{"fuzzer", "swarm"} {
			var times []float64
			found, searched := 0, 0.0
			for _, a := range attempts {
				if a.bug != bug || a.searcher != searcher {
					continue
				}
				searched += a.seconds
				if a.found {
					found++
					times = append(times, a.seconds)
				} else {
					times = append(times, math.Inf(1))
				}
			}
			row = append(row, formatMedian(median(times), o.cap),
				fmt.Sprintf("%d/%d", found, len(times)), formatRate(float64(found)/searched*60))
		}
		rows = append(rows, row)
	}
	markdown(w, header, rows)
}

func details(w io.Writer, attempts []attempt) {
	header := []string{"bug", "searcher", "start", "s", "how", "failure"}
	var rows [][]string
	for _, a := range attempts {
		seconds, how := fmt.Sprintf("%.2f", a.seconds), a.how
		if !a.found {
			seconds, how = fmt.Sprintf("> %.0f", a.seconds), "nothing found"
		}
		row := []string{a.bug, a.searcher, a.start, seconds, how, truncate(a.failure, 90)}
		rows = append(rows, row)
	}
	markdown(w, header, rows)
}

func markdown(w io.Writer, header []string, rows [][]string) {
	t := tablewriter.NewTable(w, tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft), tablewriter.WithRowAlignment(tw.AlignLeft))
	t.Header(header)
	for _, row := range rows {
		_ = t.Append(row)
	}
	_ = t.Render()
}

func startups(attempts []attempt) []float64 {
	var s []float64
	for _, a := range attempts {
		if a.searcher == "fuzzer" && a.startup > 0 {
			s = append(s, a.startup)
		}
	}
	return s
}

// median of the values; +Inf stands for an attempt that found nothing.
func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func formatMedian(m float64, cap time.Duration) string {
	switch {
	case math.IsNaN(m):
		return "-"
	case math.IsInf(m, 1):
		return fmt.Sprintf("> %.0f", cap.Seconds())
	case m < 10:
		return fmt.Sprintf("%.2f", m)
	}
	return fmt.Sprintf("%.1f", m)
}

// formatRate shows a rate to about three figures.
func formatRate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.2f", r)
}

func truncate(text string, n int) string {
	text = strings.ReplaceAll(text, "|", "/")
	if len(text) <= n {
		return text
	}
	return text[:n-1] + "…"
}
