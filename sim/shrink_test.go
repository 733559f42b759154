package sim

import (
	"path/filepath"
	"testing"

	"github.com/vsrsim/vsrsim/core"
)

// TestShrinkKeepsTheFailureAndShrinks shrinks a run with a planted bug: the result must
// fail the same way, be no larger in any dimension and smaller in some, and write a corpus
// entry that replays to the same verdict.
func TestShrinkKeepsTheFailureAndShrinks(t *testing.T) {
	// Seed 14: what seeds draw moves as the simulator grows (writes, storage knobs, restarts
	// from disk); pick one whose failure shrinks in ticks (2,414 to 299 when chosen).
	config := RunConfig{Seed: "14", Bugs: core.BugCommitWithoutQuorum}
	report, err := Shrink(config, 60, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, after := &report.Before, &report.After
	if after.Signature() != before.Signature() {
		t.Fatalf("shrinking changed the failure: %q became %q", before.Signature(), after.Signature())
	}
	if after.Ticks > before.Ticks || after.Options.Requests > before.Options.Requests ||
		len(after.Vacuity.Enabled) > len(before.Vacuity.Enabled) {
		t.Fatalf("shrinking grew the input: ticks %d->%d, requests %d->%d, fault classes %d->%d",
			before.Ticks, after.Ticks, before.Options.Requests, after.Options.Requests,
			len(before.Vacuity.Enabled), len(after.Vacuity.Enabled))
	}
	if after.Ticks*2 > before.Ticks {
		t.Fatalf("shrinking barely helped: %d ticks to %d", before.Ticks, after.Ticks)
	}
	path := filepath.Join(t.TempDir(), "shrunk.json")
	entry := CorpusEntry{Seed: report.Config.Seed, Bugs: report.Config.Bugs.String(), Expect: after.Verdict.String(),
		Options: map[string]string{}}
	for _, o := range report.Config.Overrides {
		entry.Options[o.Name] = o.Value
	}
	if err := WriteCorpusEntry(path, &entry); err != nil {
		t.Fatal(err)
	}
	read, err := ReadCorpusEntry(path)
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := read.RunConfig()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(replayed)
	if err != nil || r.Signature() != after.Signature() {
		t.Fatalf("the shrunk entry replays as %v (%v), want %s", r.Signature(), err, after.Signature())
	}
}

func TestShrinkRefusesAPassingSeed(t *testing.T) {
	if _, err := Shrink(RunConfig{Seed: "1", Profile: ProfileCalm}, 10, nil); err == nil {
		t.Fatal("shrinking a passing seed did not fail")
	}
}
