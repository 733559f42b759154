package core

// StateMachine is what the cluster replicates. It must be deterministic: the same ops with
// the same inputs and timestamps, in the same order, give the same outputs and the same
// state on every replica. It must not panic on any input: a client can send anything, and a
// malformed input gets an error output like any other.
//
// Plug in your own by passing a factory to NewReplica; the simulator then checks that your
// replicas agree under every fault it injects.
type StateMachine interface {
	// Apply executes one client operation, committed at op with the cluster's timestamp,
	// and appends its output to output.
	Apply(op Op, timestamp uint64, input []byte, output []byte) []byte
	// Digest summarises the whole state: replicas that applied the same ops agree on it.
	Digest() Checksum
	// Snapshot encodes the whole state; Restore replaces the state with a snapshot's.
	Snapshot() []byte
	Restore(snapshot []byte) error
}
