package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedianCountsMissesAsLongest(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		values []float64
		want   float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{inf, 1, 2}, 2},
		{[]float64{inf, inf, 2}, inf},
		{[]float64{4, 1, 2, 3}, 2.5},
	} {
		if got := median(c.values); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.values, got, c.want)
		}
	}
}

// Bugs per minute is failures over minutes searched, a miss counting its whole search.
func TestSummaryRate(t *testing.T) {
	o := &options{attempts: 2, cap: time.Minute, bugs: []string{"shortest-log"}, workers: 2}
	attempts := []attempt{
		{bug: "shortest-log", searcher: "fuzzer", found: true, seconds: 30},
		{bug: "shortest-log", searcher: "fuzzer", seconds: 60},
		{bug: "shortest-log", searcher: "swarm", found: true, seconds: 1},
		{bug: "shortest-log", searcher: "swarm", found: true, seconds: 2},
	}
	var out bytes.Buffer
	summary(&out, o, attempts)
	row := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "shortest-log") {
			row = strings.Join(strings.Fields(line), " ")
		}
	}
	// Fuzzer: one find in 90 s, and a median beyond the cap's reach; swarm: two in 3 s.
	want := "| `shortest-log` | > 60 | 1/2 | 0.67 | 1.50 | 2/2 | 40.0 |"
	if row != want {
		t.Fatalf("summary row\n%s\nwant\n%s\n(table:\n%s)", row, want, out.String())
	}
}
