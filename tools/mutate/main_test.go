package main

import (
	"strings"
	"testing"
)

// TestBadInput: every mistake on the command line is one error, and run exits 2.
func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--mutants", "3", "--bogus"}, "not defined"},
		{[]string{}, "say what to do"},
		{[]string{"--sites", "a.go:1", "--mutants", "3"}, "exclude each other"},
		{[]string{"--mutants", "3", "--seeds", "0"}, "--seeds 0"},
		{[]string{"--mutants", "3", "--workers", "0"}, "--workers 0"},
		{[]string{"--mutants", "3", "extra"}, "after --"},
		{[]string{"--mutants", "3", "--memory-mb", "10"}, "--memory-mb 10"},
	} {
		_, _, err := parseFlags(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.args, err, c.want)
		}
		if code := run(c.args); code != 2 {
			t.Errorf("%q: exit %d, want 2", c.args, code)
		}
	}
	o, _, err := parseFlags([]string{"--mutants", "3", "--", "--replicas", "3"})
	if err != nil || strings.Join(o.extra, " ") != "--replicas 3" {
		t.Errorf("swarm flags after --: %v, %v", o, err)
	}
}

// TestUnknownSite: a site id that names nothing exits 2 before anything is built.
func TestUnknownSite(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks core/")
	}
	if code := run([]string{"--sites", "primary.go:1:1:<→>"}); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
