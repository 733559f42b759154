package core

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Every message is a 128-byte header followed by a body. The header is the same for every
// command; each command's struct (messages.go) says which fields it uses, and the decoder
// requires the others to be zero. Layout, little endian:
//
//	  0  16  checksum       xxh3-128 of header bytes [16, 128)
//	 16  16  checksum_body  xxh3-128 of the body
//	 32  16  context        a checksum the command refers to (a prepare's parent, ...)
//	 48   8  cluster
//	 56   4  size           header + body
//	 60   1  command
//	 61   1  replica        the sending replica (or the primary that made a prepare)
//	 62   1  version
//	 63   1  operation
//	 64   8  view
//	 72   8  op
//	 80   8  commit
//	 88   8  client
//	 96   8  a              command-specific
//	104   8  b              command-specific
//	112   4  request
//	116   4  count          requests in a prepare, headers in a body
//	120   8  c              command-specific
const (
	HeaderSize     = 128
	wireVersion    = 1
	MessageSizeMax = 1 << 20 // the codec's absolute bound; Config.MessageSizeMax is lower
)

// wire is the header as the codec sees it: fields by position, not by meaning.
type wire struct {
	checksum     Checksum
	checksumBody Checksum
	context      Checksum
	cluster      uint64
	size         uint32
	command      Command
	replica      ReplicaIndex
	version      uint8
	operation    uint8
	view         uint64
	op           uint64
	commit       uint64
	client       uint64
	a, b         uint64
	request      uint32
	count        uint32
	c            uint64
}

// put seals a header: it computes the body's checksum, writes the fields into
// b[:HeaderSize], then computes and writes the header's own checksum.
func (w *wire) put(b []byte, body []byte) {
	// The body follows its header in one buffer: the size field is the message's length,
	// within the bound every decoder holds it to.
	assert(len(b) == HeaderSize+len(body))
	assert(len(b) <= MessageSizeMax)
	// A command the decoder knows: a zero wire sealed by mistake is command 0.
	assert(w.command != CommandReserved)
	assert(w.command < commandCount)
	w.size = uint32(HeaderSize + len(body))
	w.version = wireVersion
	w.checksumBody = checksumOf(body)
	w.write(b)
	w.checksum = checksumOf(b[16:HeaderSize])
	w.checksum.put(b[0:])
}

// write lays the fields out as they are, checksums included: for headers already sealed.
func (w *wire) write(b []byte) {
	assert(len(b) >= HeaderSize)
	w.checksum.put(b[0:])
	w.checksumBody.put(b[16:])
	w.context.put(b[32:])
	le := binary.LittleEndian
	le.PutUint64(b[48:], w.cluster)
	le.PutUint32(b[56:], w.size)
	b[60], b[61], b[62], b[63] = byte(w.command), byte(w.replica), w.version, w.operation
	le.PutUint64(b[64:], w.view)
	le.PutUint64(b[72:], w.op)
	le.PutUint64(b[80:], w.commit)
	le.PutUint64(b[88:], w.client)
	le.PutUint64(b[96:], w.a)
	le.PutUint64(b[104:], w.b)
	le.PutUint32(b[112:], w.request)
	le.PutUint32(b[116:], w.count)
	le.PutUint64(b[120:], w.c)
}

// Decoding errors. A receiver counts them and drops the message; none is a panic.
var (
	ErrShort           = errors.New("shorter than a header")
	ErrHeaderChecksum  = errors.New("header checksum mismatch")
	ErrBodyChecksum    = errors.New("body checksum mismatch")
	ErrSize            = errors.New("size field disagrees with the message length")
	ErrVersion         = errors.New("unknown protocol version")
	ErrCluster         = errors.New("message of another cluster")
	ErrCommand         = errors.New("unknown command")
	ErrReservedNonZero = errors.New("a field the command does not use is not zero")
	ErrInvalid         = errors.New("fields violate the command's invariants")
)

// get parses and verifies the header of a whole message: parse, and the size field must be
// the message's length. It does not look at the body beyond its length; verifyBody does.
func (w *wire) get(b []byte, cluster uint64) error {
	if len(b) < HeaderSize {
		return ErrShort
	}
	if err := w.parse(b[:HeaderSize], cluster); err != nil {
		return err
	}
	if int(w.size) != len(b) {
		return ErrSize
	}
	return nil
}

// parse reads and verifies one 128-byte header: checksum, version, cluster, command and
// the bound on size.
func (w *wire) parse(b []byte, cluster uint64) error {
	// One header exactly: the checksum covers b[16:HeaderSize] and nothing after it.
	assert(len(b) == HeaderSize)
	w.checksum = getChecksum(b[0:])
	if checksumOf(b[16:HeaderSize]) != w.checksum {
		return ErrHeaderChecksum
	}
	le := binary.LittleEndian
	w.checksumBody = getChecksum(b[16:])
	w.context = getChecksum(b[32:])
	w.cluster = le.Uint64(b[48:])
	w.size = le.Uint32(b[56:])
	w.command, w.replica = Command(b[60]), ReplicaIndex(b[61])
	w.version, w.operation = b[62], b[63]
	w.view, w.op, w.commit = le.Uint64(b[64:]), le.Uint64(b[72:]), le.Uint64(b[80:])
	w.client, w.a, w.b = le.Uint64(b[88:]), le.Uint64(b[96:]), le.Uint64(b[104:])
	w.request, w.count, w.c = le.Uint32(b[112:]), le.Uint32(b[116:]), le.Uint64(b[120:])
	switch {
	case w.size < HeaderSize || w.size > MessageSizeMax:
		return ErrSize
	case w.version != wireVersion:
		return ErrVersion
	case w.cluster != cluster:
		return ErrCluster
	case w.command == CommandReserved || w.command >= commandCount:
		return ErrCommand
	}
	return nil
}

func (w *wire) verifyBody(body []byte) error {
	// The body is the one this header was parsed with (get): all of the message after it.
	assert(len(body) == int(w.size)-HeaderSize)
	if checksumOf(body) != w.checksumBody {
		return ErrBodyChecksum
	}
	return nil
}

// unused requires the fields a command does not use to be zero: a corrupted or forged
// header that happens to pass its checksum must still be exactly one command's shape.
type fieldMask uint16

const (
	useContext fieldMask = 1 << iota
	useReplica
	useOperation
	useView
	useOp
	useCommit
	useClient
	useA
	useB
	useRequest
	useCount
	useC
	useBody
)

func (w *wire) unused(mask fieldMask) error {
	// Every command carries some field, and only fields the header has.
	assert(mask != 0)
	assert(mask < useBody<<1)
	zero := func(used fieldMask, isZero bool) bool { return mask&used != 0 || isZero }
	ok := zero(useContext, w.context.IsZero()) && zero(useReplica, w.replica == 0) &&
		zero(useOperation, w.operation == 0) && zero(useView, w.view == 0) &&
		zero(useOp, w.op == 0) && zero(useCommit, w.commit == 0) &&
		zero(useClient, w.client == 0) && zero(useA, w.a == 0) && zero(useB, w.b == 0) &&
		zero(useRequest, w.request == 0) && zero(useCount, w.count == 0) &&
		zero(useC, w.c == 0) && zero(useBody, w.size == HeaderSize)
	if !ok {
		return ErrReservedNonZero
	}
	return nil
}

// commandUses is the fields each command carries (messages.go says what they mean). The
// decoder requires every other field zero; the encoder asserts it set no other.
var commandUses = [commandCount]fieldMask{
	CommandRequest:            useClient | useA | useRequest | useOperation | useView | useBody,
	CommandPrepare:            prepareUses,
	CommandPrepareOk:          useContext | useReplica | useView | useOp | useCommit,
	CommandReply:              replyUses,
	CommandCommit:             useContext | useReplica | useView | useCommit,
	CommandStartViewChange:    useReplica | useView,
	CommandDoViewChange:       doViewChangeUses,
	CommandStartView:          useReplica | useView | useOp | useCommit | useA | useCount | useBody,
	CommandRequestStartView:   useReplica | useView,
	CommandRecovery:           useReplica | useA,
	CommandRecoveryResponse:   useReplica | useView | useA | useOp | useCommit | useCount | useBody,
	CommandRequestPrepare:     useReplica | useView | useOp | useContext,
	CommandRequestHeaders:     useReplica | useView | useOp | useCommit,
	CommandHeaders:            useReplica | useView | useCount | useBody,
	CommandEviction:           useReplica | useView | useClient | useA,
	CommandPing:               useReplica | useView | useA | useOp | useCommit | useContext,
	CommandPong:               useReplica | useView | useA | useB,
	CommandRequestCheckpoint:  useReplica | useView | useOp | useContext | useRequest,
	CommandCheckpointManifest: useReplica | useView | useOp | useA | useContext | useCount | useBody,
	CommandCheckpointChunk:    useReplica | useView | useOp | useA | useContext | useRequest | useBody,
}

// The longer masks. A prepare's are also those of every header in a body of headers.
const (
	prepareUses = useContext | useReplica | useView | useOp | useCommit | useA | useCount | useBody
	replyUses   = useReplica | useView | useOp | useCommit | useClient | useA | useRequest |
		useOperation | useBody
	doViewChangeUses = useReplica | useView | useA | useOp | useCommit | useB | useC | useCount |
		useClient | useBody
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
