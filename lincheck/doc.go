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
// replayed through the model before it is believed. Where its preconditions do not hold,
// or it cannot decide, porcupine's black-box search takes over under the time limit. A
// "not linearizable" verdict comes with a short explanation: the operations that cannot be
// ordered, or where porcupine's longest partial linearization got stuck.
package lincheck
