// Package simnet is the packet simulator: every message between simulated processes
// crosses it, and it decides, from its own seeded stream, when each one arrives and what
// happens to it on the way.
//
// There is one link per ordered pair of processes. Sending copies the bytes into a packet
// queued with a delivery tick max(delayMin, Exp(delayMean)) ahead (at least one tick). Each
// tick the world calls Deliver, which hands over every packet that is due, in order of
// delivery tick and then a random tie-break, so that links do not take turns in a fixed
// order. At delivery a packet may be misrouted to another process, dropped (target down,
// partition, loss), duplicated (the copy travels again with a fresh delay) or corrupted (a
// few bits flipped; the receiver's checksums must reject it). Then Advance moves the fault
// state on: partitions form and heal, links clog and unclog.
//
// A link holds at most LinkCapacity packets; sending into a full link drops a random one of
// them. A clogged link holds its packets back without losing them. A held process (paused)
// receives nothing until released; its packets wait. Every fault is counted in Stats and
// reported to the Observer, which the world turns into trace lines.
//
// Delivered bytes are valid only during the delivery callback: the packet's buffer is
// reused, so a receiver copies what it keeps. Steady-state sending and delivery allocate
// nothing.
package simnet
