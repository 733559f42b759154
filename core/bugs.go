package core

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// Bug is a deliberate defect a replica can be built with. The simulator uses them to test
// itself: a run with a bug switched on must fail, so the checkers are shown to find real
// protocol bugs, not only the ones they were written for (mutation testing), and how many
// seeds it takes to find each is a published figure of the tool. A cluster built for use
// never sets one; every bug is one guarded line at the place a correct replica does the
// right thing.
type Bug uint32

const (
	// BugCommitWithoutQuorum: the primary commits an op one acknowledgement short of a
	// replication quorum (VRR §4.1 step 5).
	BugCommitWithoutQuorum Bug = 1 << iota
	// BugAckUnheld: a backup acknowledges a prepare, then drops its body (acknowledging
	// before the prepare is safe: VRR §4.1 step 4 appends first).
	BugAckUnheld
	// BugDuplicateRequests: the primary prepares a client's retry again instead of dropping
	// it or answering from the client table, and execution runs it again.
	BugDuplicateRequests
	// BugShortestLog: the new primary installs the do_view_change log with the lowest op,
	// not the highest (VRR §4.2 step 3).
	BugShortestLog
	// BugTruncateWithoutNacks: the new primary truncates an op it lacks without a nack
	// quorum proving it uncommitted.
	BugTruncateWithoutNacks
	// BugAckBeforeDurable: a replica acknowledges a prepare it holds in memory before its
	// prepare and header writes completed (durability.go, ackable): a crash may then lose
	// what a quorum acknowledged.
	BugAckBeforeDurable
	// BugCorruptAsTorn: at start-up a slot whose header is intact and whose prepare is
	// corrupt is taken for a write torn at the head and dropped (restart.go), instead of
	// kept as maybe acknowledged: the replica may then nack an op it acknowledged.
	BugCorruptAsTorn
	// BugRootUnchecked: at start-up a root copy is believed without verifying its checksum
	// (open.go): a copy torn at a crash or rotten since is read as a root state.
	BugRootUnchecked
	// BugCheckpointLocal: a checkpoint records the time it was taken by the replica's own
	// clock, not the cluster's time at its op (checkpoint.go): checkpoints of one op then
	// differ between replicas, and a state transfer installs another replica's bytes.
	BugCheckpointLocal
	// BugCheckpointWithoutClients: a checkpoint holds the state machine's snapshot and an
	// empty client table (checkpoint.go): a replica restored from it forgets every session,
	// and runs a retried request again.
	BugCheckpointWithoutClients
	bugEnd
)

var bugNames = map[Bug]string{
	BugCommitWithoutQuorum:      "commit-without-quorum",
	BugAckUnheld:                "ack-unheld",
	BugDuplicateRequests:        "duplicate-requests",
	BugShortestLog:              "shortest-log",
	BugTruncateWithoutNacks:     "truncate-without-nacks",
	BugAckBeforeDurable:         "ack-before-durable",
	BugCorruptAsTorn:            "corrupt-as-torn",
	BugRootUnchecked:            "root-unchecked",
	BugCheckpointLocal:          "checkpoint-local",
	BugCheckpointWithoutClients: "checkpoint-without-clients",
}

// BugNames lists every bug by name, sorted.
func BugNames() []string {
	var names []string
	// map order: the names are sorted below.
	for _, name := range bugNames {
		names = append(names, name)
	}
	sort.Strings(names)
	// One name for each bug below bugEnd: a bug without one could not be chosen.
	assert(len(names) == bits.TrailingZeros32(uint32(bugEnd)))
	return names
}

// ParseBugs reads a comma-separated list of bug names ("" is none).
func ParseBugs(text string) (Bug, error) {
	var bugs Bug
	for _, name := range strings.Split(text, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for b := Bug(1); b < bugEnd; b <<= 1 {
			if bugNames[b] == name {
				assert(!found) // names are unique: a name is one bug
				bugs, found = bugs|b, true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown bug %q: want one of %s", name, strings.Join(BugNames(), ", "))
		}
	}
	assert(bugs < bugEnd)
	return bugs, nil
}

func (b Bug) String() string {
	var names []string
	for bit := Bug(1); bit < bugEnd; bit <<= 1 {
		if b&bit != 0 {
			assert(bugNames[bit] != "")
			names = append(names, bugNames[bit])
		}
	}
	return strings.Join(names, ",")
}

// bug reports whether the replica was built with bug b, one of the bugs above.
func (r *Replica) bug(b Bug) bool {
	assert(b != 0)
	assert(b&(b-1) == 0) // one bug: a line guarded by two would fire for either
	assert(b < bugEnd)
	return r.config.Bugs&b != 0
}
