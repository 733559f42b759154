package main

import (
	"strings"
	"testing"
)

// TestRunBadKnobs: a knob out of range, the storage knobs included, is one line on stderr
// naming it, and exit 2 (shared/design/cli.md, "Bad input").
func TestRunBadKnobs(t *testing.T) {
	cases := []struct{ flags, names string }{
		{"--loss-probability 150%", "loss-probability"},
		{"--bit-rot-probability 150%", "bit-rot-probability"},
		{"--read-error-probability 2", "read-error-probability"},
		{"--misdirect-write-probability 3/2", "misdirect-write-probability"},
		{"--misdirect-read-probability -1%", "misdirect-read-probability"},
		{"--torn-write-probability often", "torn-write-probability"},
		{"--wipe-probability 101%", "wipe-probability"},
		{"--cluster-crash-probability 5/4", "cluster-crash-probability"},
		{"--read-latency-min-ticks -1", "read-latency-min-ticks"},
		{"--write-latency-mean-ticks 2000000", "write-latency-mean-ticks"},
		{"--write-latency-min-ticks 5 --write-latency-mean-ticks 3", "write-latency-mean-ticks"},
		{"--read-latency-min-ticks 9 --read-latency-mean-ticks 4", "read-latency-mean-ticks"},
	}
	for _, c := range cases {
		args := append([]string{"run", "--seed", "1"}, strings.Fields(c.flags)...)
		stdout, stderr, code := runCLI(t, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitUsage || stdout != "" || len(lines) != 1 || !strings.Contains(stderr, c.names) ||
			strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line naming --%s",
				c.flags, code, stdout, stderr, c.names)
		}
	}
}
