package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// Verdict is the outcome of a run (shared/design/checkers.md).
type Verdict uint8

const (
	VerdictPass Verdict = iota
	VerdictCorrectness
	VerdictLiveness
	VerdictCrash
	VerdictNondeterminism
)

var verdictNames = []string{"pass", "correctness", "liveness", "crash", "nondeterminism"}

func (v Verdict) String() string { return verdictNames[v] }

// ParseVerdict reads a verdict's name.
func ParseVerdict(text string) (Verdict, error) {
	for i, name := range verdictNames {
		if name == text {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("unknown verdict %q: want one of %v", text, verdictNames)
}

// ExitCode is the command line's exit code for a verdict.
func (v Verdict) ExitCode() int { return [...]int{0, 10, 11, 12, 13}[v] }

func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

func (v *Verdict) UnmarshalText(text []byte) error {
	parsed, err := ParseVerdict(string(text))
	*v = parsed
	return err
}

// Result is what a run reports: the JSON object of shared/design/cli.md.
type Result struct {
	Seed        string        `json:"seed"`
	Profile     string        `json:"profile"`
	Bugs        string        `json:"bugs,omitempty"` // deliberate defects the replicas were built with
	Verdict     Verdict       `json:"verdict"`
	Failure     string        `json:"failure"`
	Invariant   string        `json:"invariant,omitempty"` // of the first violation
	TraceHash   string        `json:"trace_hash"`
	Ticks       uint64        `json:"ticks"`
	WallSeconds float64       `json:"wall_seconds"`
	Options     Options       `json:"options"`
	Stats       Stats         `json:"stats"`
	Vacuity     Vacuity       `json:"vacuity"`
	Liveness    LivenessPhase `json:"liveness"`
	// Violations lists every violation found, one line each; Failure is the first.
	Violations []string `json:"violations,omitempty"`
	// History is the client history, for check-history and porcupine's visualisation.
	History []checker.Operation `json:"-"`
	// Stack is the stack of a panic inside the simulation (verdict crash).
	Stack string `json:"stack,omitempty"`
}

// Stats are the counts of a run.
type Stats struct {
	Replicas             int    `json:"replicas"`
	Clients              int    `json:"clients"`
	Requests             uint64 `json:"requests"` // operations the workload issued
	RequestsCommitted    uint64 `json:"requests_committed"`
	OpsCommitted         uint64 `json:"ops_committed"` // the canonical history's length
	Replies              uint64 `json:"replies"`
	ViewChanges          uint64 `json:"view_changes"`
	Crashes              uint64 `json:"crashes"`
	CrashesAfterRecovery uint64 `json:"crashes_after_recovery"` // of them, as a replica recovered
	CrashesAfterVote     uint64 `json:"crashes_after_vote"`     // of them, right after a do_view_change
	Restarts             uint64 `json:"restarts"`
	Pauses               uint64 `json:"pauses"`
	Recoveries           uint64 `json:"recoveries"`
	Evictions            uint64 `json:"evictions"`
	SafetyTicks          uint64 `json:"safety_ticks"`
	LivenessTicks        uint64 `json:"liveness_ticks"`
	// The liveness phase healed every replica, its core lacking a prepare only a replica
	// outside it held (run.go).
	LivenessExtended uint64       `json:"liveness_extended"`
	Network          simnet.Stats `json:"network"`
	// Every replica's disks summed, the disks wipes replaced included (storage.go).
	Storage        simstorage.Stats `json:"storage"`
	Clock          ClockStats       `json:"clock"`
	ClusterCrashes uint64           `json:"cluster_crashes"` // every replica crashed at once
	Wipes          uint64           `json:"wipes"`           // restarts on an empty disk
	Checkpoints    uint64           `json:"checkpoints"`     // made durable, summed over replicas
	StateTransfers uint64           `json:"state_transfers"` // checkpoints installed from peers
	TraceEvents    uint64           `json:"trace_events"`
}

// Vacuous reports whether the run proved little: it committed no request, or none of the
// fault classes its options enabled ever struck.
func (r *Result) Vacuous() bool { return r.Vacuity.Vacuous }

// LivenessPhase is what the liveness phase did: which replicas it healed into a core, how
// long the core took to converge, and whether it did.
type LivenessPhase struct {
	Reached   bool   `json:"reached"` // the safety phase ended without a violation
	Core      []int  `json:"core"`
	Ticks     uint64 `json:"ticks"`
	Converged bool   `json:"converged"`
	Pending   int    `json:"pending_at_start"` // requests in flight when the faults stopped
	// What the healed core served once it converged (serving.go): operations answered, the
	// longest wait of one for its reply or eviction, the longest time without a reply.
	Served             uint64 `json:"served"`
	OutcomeTicksMax    uint64 `json:"outcome_ticks_max"`
	ServingGapTicksMax uint64 `json:"serving_gap_ticks_max"`
	// Excuses counts stalls excused by a named reason outside the fault model. The fault
	// model as it stands (no storage; a quorum always keeps its state) leaves nothing to
	// excuse, so there are none: every stall of the core is a liveness failure.
	Excuses map[string]uint64 `json:"excuses"`
}
