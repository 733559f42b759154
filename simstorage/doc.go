// Package simstorage will be the simulated disk: an in-memory device of fixed-size sectors
// with latency and the storage faults of shared/design/faults.md (bit rot, latent sector
// errors, misdirected reads and writes, torn and lost writes at a crash) under a fault atlas
// that never lets a fault hit the same data on a quorum of replicas.
//
// It is not built yet. Until it is, replicas keep their state in memory and a replica that
// restarts has lost everything: it recovers from the others (core, VRR §4.3), and the storage
// counts of a run's result are zero.
package simstorage
