// Command vsrsim runs deterministic simulations of a Viewstamped Replication cluster and
// judges them (shared/design/cli.md is the contract).
//
//	vsrsim run --seed N             one seed: the safety phase, then the liveness phase
//	vsrsim swarm --seeds N          many seeds on a worker pool, each with its own faults
//	vsrsim replay [PATH...]         the regression corpus (default seeds/), each against its verdict
//	vsrsim shrink --seed N | ENTRY  a smaller input that fails the same way
//	vsrsim check-history FILE       linearizability of a client history from anywhere
//
// Exit codes: 0 pass, 2 bad input, 10 correctness, 11 liveness (or a history check that
// gave up), 12 crash, 13 nondeterminism. The simulation itself lives in package sim; this
// command parses flags, measures wall time, runs worker pools and prints.
package main
