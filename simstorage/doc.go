// Package simstorage is the simulated disk of one replica: an in-memory device of
// core.SectorSize sectors in the zones of a core.Layout, with latency and the storage
// faults of shared/design/faults.md, under a fault atlas that never lets a fault hit the
// same data on a replication quorum of replicas.
//
// # The loop
//
// A Disk is the replica's core.Storage. The replica calls Read and Write (whole sectors,
// inside a zone: anything else is the replica's bug and panics); Write copies its bytes.
// Each operation completes after a latency of max(1, max(min, Exp(mean))) ticks drawn at
// issue. The driver calls Tick once per tick of the disk's process, and Tick hands every
// completion that is due to the driver's callback, by due tick and then in issue order;
// the driver passes each to the replica (Replica.Completed). A read's bytes are valid only
// during the callback. Pausing a process is not calling Tick; crashing it is Crash;
// wiping its disk is a New one.
//
// Bytes land when a write completes, not at issue: a read sees a write only if the write
// completed first, and overlapping writes land in completion order. A disk is sparse: it
// costs the sectors written to it, however large its zones (a journal of 1<<17 slots of 64
// KiB is an 8 GiB zone); unwritten sectors read as zeros.
//
// # Faults
//
// The disk keeps each sector's pristine bytes, what was last written there, and its fault
// state beside them, so a fault can be reasoned about and is healed by a rewrite.
//
//   - Bit rot (BitRotProbability, per read or write touching an allowed sector, at its
//     completion): one allowed sector it touches turns rotten. Every read of it sees the
//     same bit flipped, until it is rewritten.
//   - Latent sector error (ReadErrorProbability, per read touching an allowed sector):
//     one allowed sector it touches turns unreadable. Every read touching it, this one
//     first, completes with Error, until it is rewritten.
//   - Misdirected write (MisdirectWriteProbability, per write): the bytes land at the same
//     place of another chunk of the zone (another slot, another root copy), or elsewhere
//     in the zone for a write across chunks; the intended sectors keep their old bytes and
//     the write completes as if nothing happened. It spoils two places, so both must be
//     allowed: in the root zone, where a replica is allowed on one copy only, writes are
//     never misdirected.
//   - Misdirected read (MisdirectReadProbability, per read): the read returns the bytes of
//     another place, chosen as a misdirected write's; the sectors asked for must be allowed.
//   - Torn write (TornWriteProbability, per write in flight at Crash): some of its sectors
//     land, the others keep their old bytes, and one may hold garbage; never all new nor
//     all old (one sector torn is garbage).
//   - Lost write: a write in flight at Crash that is not torn does not land at all.
//
// Reads in flight at Crash are dropped; completed writes are durable and survive it. Torn
// and lost writes are physics and ignore the atlas: what the journal's recovery must tell
// apart from bit rot. Every fault is counted in Stats and reported to OnFault, with the
// zone and sectors it hit; a FaultKind's name is its counter's JSON key. Heal ends the
// atlas's faults (for the liveness phase); what is already rotten stays until rewritten.
//
// # The atlas
//
// An Atlas is drawn once per run and shared by every replica's disk. Per chunk of each
// zone (ZoneLayout.ChunkSectors sectors: a root copy, a header sector, a journal slot, a
// reply slot) it opens exactly quorum−1 replicas to bit rot, read errors and misdirects,
// so an op held by a replication quorum keeps an intact copy somewhere; with one replica
// no atlas fault ever happens. In the root zone each replica is moreover open on one of
// its core.RootCopies copies at most, so a torn copy and a faulted one leave two intact.
// The atlas stores nothing per chunk: a chunk's replicas are a hash of the run's atlas
// seed, the zone and the chunk.
//
// # Determinism
//
// Every decision is drawn from the disk's own entropy stream, in an order fixed by the
// calls made: a knob at zero, or a sector the atlas forbids, draws nothing. The sector
// maps are looked up, never ranged over; Crash takes writes in issue order.
package simstorage
