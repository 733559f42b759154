// Package sim is the world: it builds a cluster from a seed and options, wires the VSR
// replicas and clients of core/ to the simulated network and clocks, runs the tick loop,
// injects process faults, feeds the checkers and returns a result.
//
// The loop, once per tick, in this order (the Kernel does the first three):
//
//  1. deliver every packet that is due (simnet);
//  2. move network faults on: partitions form and heal, links clog;
//  3. tick every client, then every replica that is up;
//  4. run the checkers on what changed;
//  5. let the workload issue requests, then let the process-fault scheduler crash, restart,
//     pause and resume replicas.
//
// A run has two phases. In the safety phase the workload runs while the profile's faults
// are injected. In the liveness phase the network heals, process faults stop, a core of
// replicas (at least a view-change quorum) is brought back, and the core must converge and
// answer every pending request within a bound.
//
// Everything random comes from one root seed through entropy streams named for their
// component ("options", "simnet", "faults", "clocks", "process.N.life.M", "workload"), so a
// seed reproduces a run exactly. Every event goes into the Trace, whose running hash is the
// run's fingerprint: the same seed and options on the same build give the same hash, on any
// architecture.
//
// Options come from a profile (DrawOptions) and then overrides by name (Options.Apply);
// knobs.go is the one table of every knob, its range, its swarm draw and its flag.
package sim
