package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusReplays replays every entry of the regression corpus against its verdict. An
// entry that cannot be read fails the test with the file's name; none is skipped.
func TestCorpusReplays(t *testing.T) {
	files, err := CorpusFiles([]string{"../seeds"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the corpus in seeds/ is empty")
	}
	for _, file := range files {
		e, err := ReadCorpusEntry(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			config, err := e.RunConfig()
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(config)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Matches(&r) {
				t.Fatalf("expected %s, got %s: %s\nnote: %s", e.Expect, r.Verdict, r.Failure, e.Note)
			}
		})
	}
}

func TestCorpusEntryErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"truncated.json":  `{"seed": "12", "expect": "pa`,
		"garbage.json":    "not json at all\n",
		"negative.json":   `{"seed": "-5", "expect": "pass"}`,
		"expect.json":     `{"seed": "7", "expect": "sometimes"}`,
		"unknown.json":    `{"seed": "7", "expect": "pass", "colour": "blue"}`,
		"option.json":     `{"seed": "7", "expect": "pass", "options": {"replicas": "99"}}`,
		"nooption.json":   `{"seed": "7", "expect": "pass", "options": {"frobs": "1"}}`,
		"entropy.json":    `{"seed": "x", "entropy": "***", "expect": "pass"}`,
		"two-values.json": `{"seed": "7", "expect": "pass"} {}`,
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadCorpusEntry(path)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

// TestCorpusMismatchIsReported shows both halves of Matches failing: the verdict, and the
// failure text (on a run with a planted bug, so there is a failure to compare).
func TestCorpusMismatchIsReported(t *testing.T) {
	e := CorpusEntry{Seed: "1", Bugs: "duplicate-requests", Expect: "pass"}
	config, err := e.RunConfig()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(config)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict == VerdictPass {
		t.Fatal("seed 1 with duplicate-requests passed: pick a failing seed")
	}
	if e.Matches(&r) {
		t.Fatalf("an entry expecting pass matched a %s run", r.Verdict)
	}
	e.Expect = r.Verdict.String()
	if !e.Matches(&r) {
		t.Fatalf("an entry expecting %s did not match a %s run", e.Expect, r.Verdict)
	}
	e.Failure = "text no failure contains"
	if e.Matches(&r) {
		t.Fatal("the failure text is not compared")
	}
	e.Failure = r.Invariant
	if !e.Matches(&r) {
		t.Fatalf("failure %q does not contain its own invariant %q", r.Failure, r.Invariant)
	}
}
