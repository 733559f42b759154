package core

// Operation says what a request asks of the cluster.
type Operation uint8

const (
	OperationNone     Operation = iota
	OperationRegister           // open a session; the reply carries its number
	OperationApply              // run the body through the state machine
)

// PrepareHeader is a prepare without its body: what the log holds per op, what view
// changes and repair exchange, and what the hash chain links. Its Checksum is its identity.
type PrepareHeader struct {
	Checksum     Checksum
	ChecksumBody Checksum
	Parent       Checksum     // the checksum of op−1's prepare: the hash chain
	Replica      ReplicaIndex // the primary that prepared it
	View         View         // the view in which it was prepared
	Op           Op
	Commit       Op     // the primary's commit number when it prepared this op
	Timestamp    uint64 // cluster time of the op, in Unix nanoseconds
	Requests     uint32 // requests batched in the body
	Size         uint32 // header + body
}

// Prepare is a batch of requests at an op: sent by the primary, kept in the journal.
type Prepare struct {
	PrepareHeader
	Body []byte // the batch (batch.go)
}

// Request is a client's operation, or its registration.
type Request struct {
	Client    ClientID
	Session   Session // 0 in a register
	Request   RequestNumber
	Operation Operation
	View      View // the client's guess of the view, for the record
	Body      []byte
}

// PrepareOk acknowledges that a backup holds the prepare with this checksum at op.
type PrepareOk struct {
	Replica ReplicaIndex
	View    View
	Op      Op
	Commit  Op // the sender's executed op, for the record
	Prepare Checksum
}

// Reply answers a client's request after it committed at Op.
type Reply struct {
	Replica   ReplicaIndex
	View      View
	Op        Op
	Commit    Op
	Client    ClientID
	Session   Session
	Request   RequestNumber
	Operation Operation
	Body      []byte // the state machine's output
}

// Commit is the primary's heartbeat: everything up to Commit is committed.
type Commit struct {
	Replica        ReplicaIndex
	View           View
	Commit         Op
	CommitChecksum Checksum // the checksum of the prepare at Commit
}

// StartViewChange says the sender has given up on the primary of the view before View.
type StartViewChange struct {
	Replica ReplicaIndex
	View    View
}

// DoViewChange carries a replica's log to the new primary: the last normal view, the head,
// and a bounded window of headers ending at the head, with a bit per header saying whether
// the sender holds that prepare.
type DoViewChange struct {
	Replica     ReplicaIndex
	View        View
	LogView     View
	Op          Op
	Commit      Op
	Present     uint64 // bit i: the sender holds the prepare of Headers[i]
	RecoveredOp Op     // the sender lost its state and may have acked ops up to here before
	// Missing: an op below the window that the sender's log lacks (its header unknown, the
	// hole its trusted chain stops above) and never acknowledged: a nack of whatever
	// prepare is at that op. 0 for none.
	Missing Op
	Headers []PrepareHeader
}

// StartView installs a view's log on the backups: the head and the window before it.
type StartView struct {
	Replica ReplicaIndex
	View    View
	Op      Op
	Commit  Op
	Nonce   uint64 // nonzero when it answers a recovering replica
	Headers []PrepareHeader
}

// RequestStartView asks the primary of View for its start_view.
type RequestStartView struct {
	Replica ReplicaIndex
	View    View
}

// Recovery asks for the cluster's state after the sender lost its own (VRR §4.3).
type Recovery struct {
	Replica ReplicaIndex
	Nonce   uint64
}

// RecoveryResponse answers a recovery. Only the primary of View sends its log.
type RecoveryResponse struct {
	Replica ReplicaIndex
	View    View
	Nonce   uint64
	Op      Op // the primary's: 0 from a backup
	Commit  Op
	Headers []PrepareHeader
}

// RequestPrepare asks for the prepare with this checksum at Op.
type RequestPrepare struct {
	Replica  ReplicaIndex
	View     View
	Op       Op
	Checksum Checksum
}

// RequestHeaders asks for the headers the receiver knows in [OpMin, OpMax].
type RequestHeaders struct {
	Replica ReplicaIndex
	View    View
	OpMin   Op
	OpMax   Op
}

// Headers answers a request_headers.
type Headers struct {
	Replica ReplicaIndex
	View    View
	Headers []PrepareHeader
}

// Eviction tells a client its session is gone: it must register again.
type Eviction struct {
	Replica ReplicaIndex
	View    View
	Client  ClientID
	Session Session
}

// Ping and Pong carry the replicas' clocks between them, and tell a primary who hears it.
// A ping also says what the sender can send a replica that lags (sync.go): the op of
// the checkpoint it serves (0: none) and the checksum of that op's prepare, and the lowest
// op whose prepare it holds. A checkpoint's op was executed, so committed: a primary that
// did not know learns it so (commitLearned).
type Ping struct {
	Replica            ReplicaIndex
	View               View
	Monotonic          int64 // the sender's monotonic clock
	Checkpoint         Op
	CheckpointChecksum Checksum
	Oldest             Op
}

// RequestCheckpoint asks for the manifest of the checkpoint of Op (Checksum zero, Chunk 0),
// or for one chunk of the checkpoint of that identity (sync.go).
type RequestCheckpoint struct {
	Replica  ReplicaIndex
	View     View
	Op       Op
	Checksum Checksum
	Chunk    uint32
}

// CheckpointManifest names a checkpoint: its identity, the header of its op, and the
// checksum of each chunk (their checksum is the identity's).
type CheckpointManifest struct {
	Replica ReplicaIndex
	View    View
	ID      CheckpointID
	Header  PrepareHeader
	Sums    []Checksum
}

// CheckpointChunk is one chunk of the checkpoint of ID.
type CheckpointChunk struct {
	Replica ReplicaIndex
	View    View
	ID      CheckpointID
	Chunk   uint32
	Body    []byte
}

type Pong struct {
	Replica       ReplicaIndex
	View          View
	PingMonotonic int64 // echoed from the ping
	Realtime      int64 // the sender's wall clock when it answered
}
