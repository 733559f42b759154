// Package core is Viewstamped Replication ("Viewstamped Replication Revisited", Liskov and
// Cowling, 2012), hardened as TigerBeetle hardened it, and sans-IO: a Replica and a Client
// take ticks and messages and answer through a MessageBus. Nothing here touches a socket, a
// file, the wall clock, a goroutine or a global random source, so the same code runs in the
// simulator (package sim) and, later, behind a real network.
//
// Driving a replica:
//
//	r := core.OpenReplica(config, index, core.NewKV(), bus, clock, rand, storage, fresh)
//	for {
//		// once per tick:                 r.Tick()
//		// for each message that arrives: r.Receive(bytes)
//		// for each IO that completes:    r.Completed(id, write, data, failed)
//	}
//
// The pieces, and where they live:
//
//   - messages.go, wire.go, encode.go, decode.go: one struct per message, a 128-byte
//     header with xxh3-128 checksums of header and body, and a decoder that rejects
//     anything malformed without panicking.
//   - primary.go: requests are queued, batched into prepares and pipelined; a prepare
//     commits once a replication quorum holds it and every earlier op has committed.
//   - backup.go: prepares extend the log (each names its parent's checksum: the hash
//     chain); backups acknowledge what they hold and execute what is committed.
//   - journal.go: the log, trusted from its head down the hash chain. repair.go fetches
//     missing headers and prepares by checksum from any replica.
//   - execute.go, clienttable.go: committed ops run through the client table (sessions
//     registered through the log: exactly-once) and the state machine.
//   - viewchange.go, viewchange_primary.go: view changes (VRR §4.2) with a bounded window
//     of headers per do_view_change, and truncation of an op only on a nack quorum.
//   - storage.go, root.go, durability.go: the disk (sans-IO, like the bus), the durable
//     root, and the write path: the journal and the root go to disk, and every
//     acknowledgement (prepare_ok, the primary's own, do_view_change, start_view) waits
//     for the writes it rests on; a header sector counts once read back intact.
//   - open.go, slots.go, restart.go: OpenReplica reads a disk back at start-up (the root,
//     every header sector, the prepares they name), classifies each slot by one decision
//     table, and restarts from it: normal, or into a view change; a head it cannot prove
//     votes in no view change until a log is installed over it.
//   - recovery.go: a replica whose disk is empty or lost recovers from a quorum (VRR §4.3).
//   - client.go: one request at a time, retries with backoff, broadcast when in doubt.
//   - statemachine.go, kv.go: the StateMachine interface and the reference key-value store.
//
// Every handler first drops what is irrelevant (stale view, wrong status, duplicate),
// counting it, and then asserts what must hold; a broken invariant panics with the facts.
package core
