package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testdata = "../../lincheck/testdata/"

// runCLI runs the command line as main does, capturing what it prints and the exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCommand()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs(args)
	err := root.Execute()
	var exit *exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.code
		if code == exitUsage {
			errs.WriteString(exit.err.Error() + "\n")
		}
	default:
		code = exitUsage
		errs.WriteString(err.Error() + "\n")
	}
	return out.String(), errs.String(), code
}

func TestCheckHistoryVerdicts(t *testing.T) {
	cases := []struct {
		file, stdout string
		code         int
	}{
		{"example.json", "linearizable\n", exitPass},
		{"stale-read.json", "not linearizable\n", exitCorrectness},
		{"pending-cas.log", "not linearizable\n", exitCorrectness},
		{"append.txt", "not linearizable\n", exitCorrectness},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(t, "check-history", testdata+c.file)
		if stdout != c.stdout || code != c.code {
			t.Errorf("%s: printed %q, exit %d; want %q, exit %d\n%s", c.file, stdout, code, c.stdout, c.code, stderr)
		}
		if code == exitCorrectness && !strings.Contains(stderr, "finished before") && !strings.Contains(stderr, "fits") {
			t.Errorf("%s: no explanation on stderr:\n%s", c.file, stderr)
		}
	}
}

func TestCheckHistoryJSON(t *testing.T) {
	stdout, _, code := runCLI(t, "check-history", "--json", testdata+"stale-read.json")
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if code != exitCorrectness || got["verdict"] != "not linearizable" || got["key"] != "k" ||
		got["format"] != "vsrsim-history/1" || got["operations"] != 3.0 || got["method"] != "fast path" {
		t.Errorf("exit %d, object %v", code, got)
	}
	for _, key := range []string{"file", "explanation", "seconds", "model"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no %q in %v", key, got)
		}
	}
	if !strings.Contains(got["explanation"].(string), `get("k") -> "c1.1"`) {
		t.Errorf("explanation: %q", got["explanation"])
	}
}

func TestCheckHistoryGivesUp(t *testing.T) {
	// Values written twice keep the fast path out, so porcupine must decide, and cannot
	// within a nanosecond.
	path := filepath.Join(t.TempDir(), "dup.log")
	log := "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n" +
		"INFO  jepsen.util - 1\t:invoke\t:write\t1\nINFO  jepsen.util - 1\t:ok\t:write\t1\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "check-history", "--timeout", "1ns", path)
	if stdout != "unknown\n" || code != exitLiveness || !strings.Contains(stderr, "gave up") {
		t.Errorf("printed %q, exit %d, stderr:\n%s", stdout, code, stderr)
	}
	if _, _, code := runCLI(t, "check-history", "--timeout", "0", path); code != exitPass {
		t.Errorf("without a time limit: exit %d", code)
	}
}

func TestCheckHistoryVisualize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.html")
	if _, stderr, code := runCLI(t, "check-history", "--visualize", path, testdata+"stale-read.json"); code != exitCorrectness {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Contains(data, []byte("<html")) {
		t.Errorf("no visualisation: %v", err)
	}
	if _, _, code := runCLI(t, "check-history", "--visualize", path, testdata+"stale-read.json"); code != exitUsage {
		t.Errorf("overwrote %s without --force: exit %d", path, code)
	}
	if _, _, code := runCLI(t, "check-history", "--force", "--visualize", path, testdata+"example.json"); code != exitPass {
		t.Errorf("--force: exit %d", code)
	}
}

func TestCheckHistoryBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.log", "INFO  jepsen.util - 0\t:invoke\t:frobnicate\tnil\n{{{\n")
	binary := write("random.bin", "\x00\x9f\x13garbage\xff")
	truncated := write("t.json", `{"format": "vsrsim-history/1", "operations": [{"client": 1`)
	empty := write("empty.log", "")
	cases := [][]string{
		{"check-history", garbage},
		{"check-history", binary},
		{"check-history", truncated},
		{"check-history", empty},
		{"check-history", filepath.Join(dir, "nope.log")},
		{"check-history"},
		{"check-history", garbage, binary},
		{"check-history", "--model", "queue", testdata + "example.json"},
		{"check-history", "--model", "register", testdata + "append.txt"},
		{"check-history", "--timeout", "-1s", testdata + "example.json"},
		{"check-history", "--timeout", "soon", testdata + "example.json"},
	}
	for _, args := range cases {
		stdout, stderr, code := runCLI(t, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitUsage || stdout != "" || len(lines) != 1 || lines[0] == "" || strings.Contains(stderr, "goroutine") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, stdout, stderr)
		}
	}
}

// TestVersion: --version prints the build's version and exits 0 (shared/design/cli.md).
func TestVersion(t *testing.T) {
	stdout, stderr, code := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "vsrsim ") || !strings.Contains(stdout, "go1.") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCheckHistoryRegisterSweep: register logs whose values repeat (generated, as Jepsen's
// register workloads write them) are decided by the sweep, which the output names; a
// violation is explained by the short window no order explains, and pictured.
func TestCheckHistoryRegisterSweep(t *testing.T) {
	stdout, stderr, code := runCLI(t, "check-history", "--json", testdata+"register-anomaly.log")
	var got struct {
		Verdict, Method, Explanation string
		DecidedBy                    map[string]int `json:"decided_by"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s%s", err, stdout, stderr)
	}
	if code != exitCorrectness || got.Verdict != "not linearizable" || got.Method != "sweep" || got.DecidedBy["sweep"] != 1 ||
		!strings.Contains(got.Explanation, "no order explains the 2 operations") {
		t.Errorf("exit %d, %+v", code, got)
	}
	if _, stderr, code := runCLI(t, "check-history", testdata+"register-ok.log"); code != exitPass || !strings.Contains(stderr, "by sweep") {
		t.Errorf("register-ok.log: exit %d, stderr:\n%s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "w.html")
	if _, stderr, code := runCLI(t, "check-history", "--visualize", path, testdata+"register-anomaly.log"); code != exitCorrectness {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Contains(data, []byte("<html")) {
		t.Errorf("no visualisation of the window: %v", err)
	}
}
