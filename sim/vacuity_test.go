package sim

import "testing"

// A run's vacuity report counts the mechanisms it reached beyond normal operation, from its
// stats: checkpoints made durable, state transfers, and laps of the journal's ring.
func TestVacuityCountsMechanisms(t *testing.T) {
	r, err := Run(RunConfig{Seed: "1", Overrides: []Override{{Name: "checkpointOps", Value: "4"},
		{Name: "journalSlots", Value: "32"}, {Name: "pipelineMax", Value: "4"}}})
	if err != nil || r.Verdict != VerdictPass {
		t.Fatalf("seed 1: %v %v %s", err, r.Verdict, r.Failure)
	}
	m := r.Vacuity.Mechanisms
	if m["checkpoints"] == 0 || m["checkpoints"] != r.Stats.Checkpoints || m["state_transfers"] != r.Stats.StateTransfers {
		t.Fatalf("mechanisms %v, stats: %d checkpoints, %d state transfers", m, r.Stats.Checkpoints, r.Stats.StateTransfers)
	}
	if want := r.Stats.OpsCommitted / 32; m["ring_laps"] != want || want == 0 {
		t.Fatalf("ring laps %d of %d ops over 32 slots: want %d, at least one", m["ring_laps"], r.Stats.OpsCommitted, want)
	}
}
