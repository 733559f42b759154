// Package lincheck reads client histories and judges whether they are linearizable.
//
// A History is what clients saw: for each operation, its client, the times it was invoked
// and answered (closed intervals; Pending when the answer never came), its input and its
// answer. ReadHistory reads three formats, recognised by content: vsrsim's own JSON
// (WriteHistoryJSON writes it; `vsrsim run --history` exports it), Jepsen's etcd register
// logs, and key-value logs of EDN maps. Malformed input is a *ParseError naming the file
// and line, never a panic.
//
// The state machine is the key-value store of KVStep (get, put, append, cas on string keys,
// absent keys read as ""), a pure function shared with the simulator and exposed to
// porcupine as KVModel. Jepsen's etcd logs are checked against RegisterModel, a single
// integer register that starts as nil.
//
// Check decides linearizability per key (keys are independent objects) and answers
// Linearizable, NotLinearizable, or Unknown when it gave up at its time limit; it never
// guesses. Each key goes first to a fast path that exploits unique written values, which
// is how vsrsim's clients write: each read then names the writes it saw (for appends, in
// order), every observed state becomes a node in chains that must stay contiguous in any
// linearization, and ordering the chains against real time is a sort and a sweep. Its
// "not linearizable" is a proof; its "linearizable" comes with a witness sequence that is
// replayed through the model before it is believed.
//
// Where values repeat (Jepsen's registers write values from a domain of five) the fast path
// cannot decide, and a key of reads, writes and compare-and-sets goes to the sweep
// (sweep.go): it walks the key's events in time order carrying the set of configurations
// the key can be in (its value, which open operations are linearized, which crashed ones
// were used), linearizing just in time at each answer. A beam of the likeliest
// configurations proves "linearizable" when it reaches the end; where it dies it is
// widened, and the sweep looks there for a short window that no order explains from any
// value (sweep_window.go), which proves "not linearizable" and is the explanation. Keys
// with appends, and keys neither decides, go to porcupine's black-box search under the time
// limit. Result.Method and Result.DecidedBy say which technique decided.
//
// A "not linearizable" verdict comes with a short explanation: the operations that cannot
// be ordered, the window no order explains, or where porcupine's longest partial
// linearization got stuck. An "unknown" one says how far each technique got.
package lincheck
