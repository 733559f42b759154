package core

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The codec tests share one cluster of five replicas, so that "the primary of view v" is a
// rule with teeth (view 12 is replica 2's, not replica 0's).
const (
	codecCluster  uint64 = 0x5eed_c0de_0000_0001
	codecReplicas        = 5
)

// codecSample is a valid message and the typed struct the decoder must make of it.
type codecSample struct {
	name    string
	command Command
	message []byte // owned: a copy of the encoder's buffer
	want    any
}

// codecChain makes n prepare headers of a view at ops first, first+1, ..., each naming the
// previous one as its parent (the first names parent). Each prepare holds a real one-request
// batch, so its size and body checksum are those of a prepare that could be sent.
func codecChain(parent Checksum, first Op, n int, view View) []PrepareHeader {
	enc := NewEncoder(codecCluster)
	headers := make([]PrepareHeader, n)
	for i := range headers {
		op := first + Op(i)
		body := appendBatchEntry(nil, &Request{Client: ClientID(0x100 + op), Session: 7,
			Request: RequestNumber(op), Operation: OperationApply, Body: []byte{byte(op), 1, 2}})
		h := PrepareHeader{Parent: parent, Replica: ReplicaIndex(uint64(view) % codecReplicas),
			View: view, Op: op, Commit: op - 1, Timestamp: 1_700_000_000_000_000_000 + uint64(op),
			Requests: 1}
		enc.Prepare(&h, body)
		headers[i] = h
		parent = h.Checksum
	}
	return headers
}

// codecBatch makes a batch of count requests of different shapes: registers, empty bodies,
// key-value operations.
func codecBatch(count int) []byte {
	var batch []byte
	for i := 0; i < count; i++ {
		m := Request{Client: ClientID(0xc1_0000 + i), Session: Session(100 + i),
			Request: RequestNumber(3 * i), Operation: OperationApply}
		switch {
		case i%5 == 0:
			m.Session, m.Request, m.Operation = 0, 0, OperationRegister
		case i%5 == 1:
			m.Request = 1
		default:
			m.Body = EncodeKV(nil, KVInput{Op: KVPut, Key: fmt.Sprintf("key-%d", i), Value: "v"})
		}
		batch = appendBatchEntry(batch, &m)
	}
	return batch
}

// codecPrepare seals a prepare of view 7 (replica 2's) at op 1000 with a batch of count.
func codecPrepare(enc *Encoder, count int) (Prepare, []byte) {
	body := codecBatch(count)
	h := PrepareHeader{Parent: checksumOf([]byte("op 999")), Replica: 2, View: 7, Op: 1000,
		Commit: 997, Timestamp: 1_700_000_000_123_456_789, Requests: uint32(count)}
	message := bytes.Clone(enc.Prepare(&h, body))
	return Prepare{PrepareHeader: h, Body: body}, message
}

// codecSamples is one valid message or more of every command, with non-trivial values in
// every field the command uses.
func codecSamples() []codecSample {
	enc := NewEncoder(codecCluster)
	chain := codecChain(checksumOf([]byte("op 1000")), 1001, 9, 7)
	long := codecChain(checksumOf([]byte("op 2000")), 2001, HeadersMax, 11)
	prepare, prepareMessage := codecPrepare(enc, 16)
	samples := []codecSample{{name: "prepare", command: CommandPrepare, message: prepareMessage,
		want: prepare}}
	add := func(name string, want any) {
		command, message := codecEncode(enc, want)
		samples = append(samples, codecSample{name, command, bytes.Clone(message), want})
	}
	add("request", Request{Client: 0xdead_beef_0001, Session: 42, Request: 7,
		Operation: OperationApply, View: 9,
		Body: EncodeKV(nil, KVInput{Op: KVCas, Key: "k", Value: "new", Expected: "old"})})
	add("request_register", Request{Client: 0xdead_beef_0002, Operation: OperationRegister, View: 3})
	add("prepare_ok", PrepareOk{Replica: 3, View: 8, Op: 1000, Commit: 990, Prepare: chain[0].Checksum})
	add("reply", Reply{Replica: 2, View: 7, Op: 1000, Commit: 1000, Client: 0xdead_beef_0001,
		Session: 42, Request: 7, Operation: OperationApply, Body: []byte{kvStatusOk, 'v'}})
	add("commit", Commit{Replica: 2, View: 7, Commit: 999, CommitChecksum: chain[1].Checksum})
	add("start_view_change", StartViewChange{Replica: 4, View: 12})
	add("do_view_change", DoViewChange{Replica: 1, View: 12, LogView: 7, Op: 1009, Commit: 1001,
		Present: 0b1_0110_1101, RecoveredOp: 1003, Missing: 1000, Headers: chain})
	add("do_view_change_64", DoViewChange{Replica: 3, View: 13, LogView: 11, Op: 2064,
		Commit: 2000, Present: ^uint64(0), Headers: long})
	add("do_view_change_empty", DoViewChange{Replica: 0, View: 1})
	add("start_view", StartView{Replica: 2, View: 12, Op: 1009, Commit: 1001, Nonce: 0x1234,
		Headers: chain})
	add("start_view_empty", StartView{Replica: 1, View: 6})
	add("request_start_view", RequestStartView{Replica: 0, View: 12})
	add("recovery", Recovery{Replica: 3, Nonce: 0xfeed_f00d})
	add("recovery_response", RecoveryResponse{Replica: 2, View: 12, Nonce: 0xfeed_f00d, Op: 1009,
		Commit: 1005, Headers: chain})
	add("recovery_response_backup", RecoveryResponse{Replica: 1, View: 12, Nonce: 0xfeed_f00d})
	add("request_prepare", RequestPrepare{Replica: 4, View: 12, Op: 1005, Checksum: chain[4].Checksum})
	add("request_headers", RequestHeaders{Replica: 1, View: 12, OpMin: 940, OpMax: 940 + HeadersMax - 1})
	add("headers", Headers{Replica: 3, View: 12,
		Headers: []PrepareHeader{chain[0], chain[3], chain[4], chain[8]}})
	add("eviction", Eviction{Replica: 2, View: 12, Client: 0xdead_beef_0001, Session: 42})
	add("ping", Ping{Replica: 1, View: 12, Monotonic: 123_456_789, Checkpoint: 64,
		CheckpointChecksum: checksumOf([]byte("op 64")), Oldest: 33})
	add("request_checkpoint manifest", RequestCheckpoint{Replica: 2, View: 12, Op: 64})
	sums := []Checksum{checksumOf([]byte("chunk 0")), checksumOf([]byte("chunk 1"))}
	id := CheckpointID{Op: 1003, Size: 70_000, Checksum: checksumOfSums(sums)}
	add("request_checkpoint chunk", RequestCheckpoint{Replica: 2, View: 12, Op: 1003, Checksum: id.Checksum, Chunk: 1})
	add("checkpoint_manifest", CheckpointManifest{Replica: 1, View: 12, ID: id, Header: chain[2], Sums: sums})
	add("checkpoint_chunk", CheckpointChunk{Replica: 1, View: 12, ID: id, Chunk: 1, Body: []byte("the second chunk")})
	add("pong", Pong{Replica: 4, View: 12, PingMonotonic: 123_456_789, Realtime: -86_400})
	return samples
}

// codecSampleNamed returns the sample of that name.
func codecSampleNamed(t testing.TB, name string) codecSample {
	t.Helper()
	for _, s := range codecSamples() {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no codec sample %q", name)
	return codecSample{}
}

// codecEncode encodes a typed message (a value, not a pointer) with the encoder. The bytes
// are the encoder's, valid until its next call.
func codecEncode(e *Encoder, m any) (Command, []byte) {
	switch m := m.(type) {
	case Request:
		return CommandRequest, e.Request(&m)
	case Prepare:
		return CommandPrepare, e.Prepare(&m.PrepareHeader, m.Body)
	case PrepareOk:
		return CommandPrepareOk, e.PrepareOk(&m)
	case Reply:
		return CommandReply, e.Reply(&m)
	case Commit:
		return CommandCommit, e.Commit(&m)
	case StartViewChange:
		return CommandStartViewChange, e.StartViewChange(&m)
	case DoViewChange:
		return CommandDoViewChange, e.DoViewChange(&m)
	case StartView:
		return CommandStartView, e.StartView(&m)
	case RequestStartView:
		return CommandRequestStartView, e.RequestStartView(&m)
	case Recovery:
		return CommandRecovery, e.Recovery(&m)
	case RecoveryResponse:
		return CommandRecoveryResponse, e.RecoveryResponse(&m)
	case RequestPrepare:
		return CommandRequestPrepare, e.RequestPrepare(&m)
	case RequestHeaders:
		return CommandRequestHeaders, e.RequestHeaders(&m)
	case Headers:
		return CommandHeaders, e.Headers(&m)
	case Eviction:
		return CommandEviction, e.Eviction(&m)
	case Ping:
		return CommandPing, e.Ping(&m)
	case Pong:
		return CommandPong, e.Pong(&m)
	case RequestCheckpoint:
		return CommandRequestCheckpoint, e.RequestCheckpoint(&m)
	case CheckpointManifest:
		return CommandCheckpointManifest, e.CheckpointManifest(&m)
	case CheckpointChunk:
		return CommandCheckpointChunk, e.CheckpointChunk(&m)
	}
	panic(fmt.Sprintf("codecEncode: %T is not a message", m))
}

// codecDecoded returns the decoder's struct for a command, by value. Its slices alias the
// input and the decoder's scratch: use it before the next Decode.
func codecDecoded(d *Decoder, command Command) any {
	switch command {
	case CommandRequest:
		return d.Request
	case CommandPrepare:
		return d.Prepare
	case CommandPrepareOk:
		return d.PrepareOk
	case CommandReply:
		return d.Reply
	case CommandCommit:
		return d.Commit
	case CommandStartViewChange:
		return d.StartViewChange
	case CommandDoViewChange:
		return d.DoViewChange
	case CommandStartView:
		return d.StartView
	case CommandRequestStartView:
		return d.RequestStartView
	case CommandRecovery:
		return d.Recovery
	case CommandRecoveryResponse:
		return d.RecoveryResponse
	case CommandRequestPrepare:
		return d.RequestPrepare
	case CommandRequestHeaders:
		return d.RequestHeaders
	case CommandHeaders:
		return d.Headers
	case CommandEviction:
		return d.Eviction
	case CommandPing:
		return d.Ping
	case CommandPong:
		return d.Pong
	case CommandRequestCheckpoint:
		return d.RequestCheckpoint
	case CommandCheckpointManifest:
		return d.CheckpointManifest
	case CommandCheckpointChunk:
		return d.CheckpointChunk
	}
	panic(fmt.Sprintf("codecDecoded: command %v", command))
}

// codecErrors is every error the decoder may return, wrapped or not.
var codecErrors = []error{ErrShort, ErrHeaderChecksum, ErrBodyChecksum, ErrSize, ErrVersion,
	ErrCluster, ErrCommand, ErrReservedNonZero, ErrInvalid}

func codecKnownError(err error) bool {
	for _, known := range codecErrors {
		if errors.Is(err, known) {
			return true
		}
	}
	return false
}

func TestCodecRoundTrip(t *testing.T) {
	seen := map[Command]bool{}
	d := NewDecoder(codecCluster, codecReplicas)
	e := NewEncoder(codecCluster)
	for _, s := range codecSamples() {
		t.Run(s.name, func(t *testing.T) {
			command, err := d.Decode(s.message)
			if err != nil || command != s.command {
				t.Fatalf("Decode = %v, %v; want %v, nil", command, err, s.command)
			}
			got := codecDecoded(d, command)
			if diff := cmp.Diff(s.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decoded %v differs (-want +got):\n%s", command, diff)
			}
			if _, again := codecEncode(e, got); !bytes.Equal(again, s.message) {
				t.Fatalf("re-encoding the decoded %v changed its bytes", command)
			}
		})
		seen[s.command] = true
	}
	for c := CommandRequest; c < commandCount; c++ {
		if !seen[c] {
			t.Errorf("no round-trip sample of %v", c)
		}
	}
}

// TestCodecPrepareSealsHeader checks what Encoder.Prepare fills in: the checksums and size
// the log keeps, and that the header's checksum is the message's identity.
func TestCodecPrepareSealsHeader(t *testing.T) {
	enc := NewEncoder(codecCluster)
	p, message := codecPrepare(enc, 3)
	if int(p.Size) != len(message) || p.Size != uint32(HeaderSize+len(p.Body)) {
		t.Errorf("Size = %d, message is %d bytes, body %d", p.Size, len(message), len(p.Body))
	}
	if p.Checksum != checksumOf(message[16:HeaderSize]) || p.Checksum != getChecksum(message) {
		t.Errorf("Checksum %v is not the header's", p.Checksum)
	}
	if p.ChecksumBody != checksumOf(p.Body) {
		t.Errorf("ChecksumBody %v is not the body's", p.ChecksumBody)
	}
	chain := codecChain(p.Checksum, 1001, 3, 7)
	if chain[0].Parent != p.Checksum || chain[2].Parent != chain[1].Checksum {
		t.Errorf("codecChain does not link: %+v", chain)
	}
}

// TestCodecDecoderReuse decodes a long message and then a short one of the same command:
// nothing of the first may show through the second.
func TestCodecDecoderReuse(t *testing.T) {
	d := NewDecoder(codecCluster, codecReplicas)
	long, empty := codecSampleNamed(t, "do_view_change_64"), codecSampleNamed(t, "do_view_change_empty")
	for _, s := range []codecSample{long, empty, long} {
		if _, err := d.Decode(s.message); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, d.DoViewChange, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s after reuse (-want +got):\n%s", s.name, diff)
		}
	}
	// A rejected message must not make the next valid one fail.
	bad := codecPatch(t, long.message, func(w *wire) { w.version = 9 })
	if _, err := d.Decode(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("patched version: %v", err)
	}
	if _, err := d.Decode(empty.message); err != nil {
		t.Fatalf("after a rejection: %v", err)
	}
}

// codecPatch copies a valid message, changes its header fields, and seals the header again
// (its own checksum only): the body and its checksum are untouched, so only the rule the
// patch breaks can trip.
func codecPatch(t testing.TB, message []byte, patch func(w *wire)) []byte {
	t.Helper()
	var w wire
	if err := w.parse(message[:HeaderSize], codecCluster); err != nil {
		t.Fatalf("codecPatch of an invalid header: %v", err)
	}
	out := bytes.Clone(message)
	patch(&w)
	w.write(out)
	codecSealHeader(out)
	return out
}

// codecRebody copies a valid message with another body: size and both checksums follow.
func codecRebody(t testing.TB, message []byte, body []byte, patch func(w *wire)) []byte {
	t.Helper()
	var w wire
	if err := w.parse(message[:HeaderSize], codecCluster); err != nil {
		t.Fatalf("codecRebody of an invalid header: %v", err)
	}
	if patch != nil {
		patch(&w)
	}
	out := make([]byte, HeaderSize+len(body))
	copy(out[HeaderSize:], body)
	w.put(out, out[HeaderSize:])
	return out
}

// codecOversized is a message one byte over MessageSizeMax, sealed by hand (an encoder
// asserts the bound): its size field, length and both checksums agree.
func codecOversized(t testing.TB, message []byte) []byte {
	t.Helper()
	var w wire
	if err := w.parse(message[:HeaderSize], codecCluster); err != nil {
		t.Fatalf("codecOversized of an invalid header: %v", err)
	}
	out := make([]byte, MessageSizeMax+1)
	w.size = uint32(len(out))
	w.checksumBody = checksumOf(out[HeaderSize:])
	w.write(out)
	codecSealHeader(out)
	return out
}

func codecSealHeader(message []byte) {
	checksumOf(message[16:HeaderSize]).put(message[0:])
}

// codecField names one field of the header and sets it to a nonzero value.
type codecField struct {
	name string
	set  func(w *wire)
}

var codecFields = []codecField{
	{"context", func(w *wire) { w.context = Checksum{Lo: 1, Hi: 2} }},
	{"replica", func(w *wire) { w.replica = 1 }},
	{"operation", func(w *wire) { w.operation = 1 }},
	{"view", func(w *wire) { w.view = 1 }},
	{"op", func(w *wire) { w.op = 1 }},
	{"commit", func(w *wire) { w.commit = 1 }},
	{"client", func(w *wire) { w.client = 1 }},
	{"a", func(w *wire) { w.a = 1 }},
	{"b", func(w *wire) { w.b = 1 }},
	{"request", func(w *wire) { w.request = 1 }},
	{"count", func(w *wire) { w.count = 1 }},
	{"c", func(w *wire) { w.c = 1 }},
}

// codecUses says which header fields each command carries, as messages.go and encode.go
// define them. Every other field must be zero, and a body is allowed only where listed.
var codecUses = map[Command]string{
	CommandRequest:            "operation view client a request body",
	CommandPrepare:            "context replica view op commit a count body",
	CommandPrepareOk:          "context replica view op commit",
	CommandReply:              "replica operation view op commit client a request body",
	CommandCommit:             "context replica view commit",
	CommandStartViewChange:    "replica view",
	CommandDoViewChange:       "replica view op commit a b c count client body",
	CommandStartView:          "replica view op commit a count body",
	CommandRequestStartView:   "replica view",
	CommandRecovery:           "replica a",
	CommandRecoveryResponse:   "replica view op commit a count body",
	CommandRequestPrepare:     "context replica view op",
	CommandRequestHeaders:     "replica view op commit",
	CommandHeaders:            "replica view count body",
	CommandEviction:           "replica view client a",
	CommandPing:               "replica view a op commit context",
	CommandPong:               "replica view a b",
	CommandRequestCheckpoint:  "replica view op context request",
	CommandCheckpointManifest: "replica view op a context count body",
	CommandCheckpointChunk:    "replica view op a context request body",
}

// TestCodecRejectsReservedFields sets, one at a time, every field a command does not use
// (and a body where it takes none) and re-seals the header: each must be rejected for
// exactly that reason.
func TestCodecRejectsReservedFields(t *testing.T) {
	d := NewDecoder(codecCluster, codecReplicas)
	done := map[Command]bool{}
	for _, s := range codecSamples() {
		if done[s.command] {
			continue
		}
		done[s.command] = true
		uses := strings.Fields(codecUses[s.command])
		used := func(name string) bool { return codecContains(uses, name) }
		for _, field := range codecFields {
			if used(field.name) {
				continue
			}
			bad := codecPatch(t, s.message, field.set)
			if _, err := d.Decode(bad); !errors.Is(err, ErrReservedNonZero) {
				t.Errorf("%v with %s set: got %v, want %v", s.command, field.name, err, ErrReservedNonZero)
			}
		}
		if !used("body") {
			bad := codecRebody(t, s.message, []byte("unexpected"), nil)
			if _, err := d.Decode(bad); !errors.Is(err, ErrReservedNonZero) {
				t.Errorf("%v with a body: got %v, want %v", s.command, err, ErrReservedNonZero)
			}
		}
	}
}

func codecContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// codecReject is one malformed message and the error it must be rejected with.
type codecReject struct {
	name    string
	message []byte
	want    error
}

// TestCodecRejectsHeader covers the rules every message shares: length, checksums, size,
// version, cluster, command, the sender's index.
func TestCodecRejectsHeader(t *testing.T) {
	ok := codecSampleNamed(t, "prepare_ok").message
	prepare := codecSampleNamed(t, "prepare").message
	flipped := func(message []byte, at int) []byte {
		out := bytes.Clone(message)
		out[at] ^= 0x10
		return out
	}
	other := NewEncoder(codecCluster + 1)
	cases := []codecReject{
		{"empty", nil, ErrShort},
		{"one byte short of a header", ok[:HeaderSize-1], ErrShort},
		{"header checksum itself", flipped(ok, 3), ErrHeaderChecksum},
		{"header field", flipped(ok, 70), ErrHeaderChecksum},
		{"body byte", flipped(prepare, HeaderSize+40), ErrBodyChecksum},
		{"truncated body", prepare[:len(prepare)-1], ErrSize},
		{"trailing byte", append(bytes.Clone(prepare), 0), ErrSize},
		{"size below a header", codecPatch(t, ok, func(w *wire) { w.size = HeaderSize - 1 }), ErrSize},
		{"size above the bound", codecPatch(t, ok, func(w *wire) { w.size = MessageSizeMax + 1 }), ErrSize},
		{"size of a body not there", codecPatch(t, ok, func(w *wire) { w.size = HeaderSize + 8 }), ErrSize},
		// Size and length agree, the checksums hold, and the message is one byte over the
		// codec's bound: only the bound rejects it.
		{"whole message over the bound", codecOversized(t, prepare), ErrSize},
		{"version 0", codecPatch(t, ok, func(w *wire) { w.version = 0 }), ErrVersion},
		{"version 2", codecPatch(t, ok, func(w *wire) { w.version = 2 }), ErrVersion},
		{"cluster field", codecPatch(t, ok, func(w *wire) { w.cluster ^= 1 << 40 }), ErrCluster},
		{"another cluster's encoder", bytes.Clone(other.Ping(&Ping{Replica: 1, View: 2})), ErrCluster},
		{"command reserved", codecPatch(t, ok, func(w *wire) { w.command = CommandReserved }), ErrCommand},
		{"command count", codecPatch(t, ok, func(w *wire) { w.command = commandCount }), ErrCommand},
		{"command 255", codecPatch(t, ok, func(w *wire) { w.command = 255 }), ErrCommand},
		{"replica = replicas", codecPatch(t, ok, func(w *wire) { w.replica = codecReplicas }), ErrInvalid},
		{"replica 255", codecPatch(t, ok, func(w *wire) { w.replica = 255 }), ErrInvalid},
		{"commit from replica 5", codecRaw(t, CommandCommit, func(w *wire) { w.replica = 5 }), ErrInvalid},
		{"ping from replica 9", codecRaw(t, CommandPing, func(w *wire) { w.replica = 9 }), ErrInvalid},
	}
	codecExpectRejects(t, cases)
}

// codecRaw seals a header-only message of a command with the fields patch sets.
func codecRaw(t testing.TB, command Command, patch func(w *wire)) []byte {
	t.Helper()
	w := wire{command: command, cluster: codecCluster}
	patch(&w)
	out := make([]byte, HeaderSize)
	w.put(out, nil)
	return out
}

func codecExpectRejects(t *testing.T, cases []codecReject) {
	t.Helper()
	d := NewDecoder(codecCluster, codecReplicas)
	for _, c := range cases {
		command, err := d.Decode(c.message)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Decode = %v, %v; want %v", c.name, command, err, c.want)
			continue
		}
		if command != 0 {
			t.Errorf("%s: rejected, yet returned command %v", c.name, command)
		}
	}
}

// TestCodecRejectsRequests covers what every request must satisfy (validRequest).
func TestCodecRejectsRequests(t *testing.T) {
	e := NewEncoder(codecCluster)
	request := func(m Request) []byte { return bytes.Clone(e.Request(&m)) }
	apply := Request{Client: 5, Session: 3, Request: 1, Operation: OperationApply}
	with := func(f func(m *Request)) Request { m := apply; f(&m); return m }
	register := Request{Client: 5, Operation: OperationRegister}
	withRegister := func(f func(m *Request)) Request { m := register; f(&m); return m }
	codecExpectRejects(t, []codecReject{
		{"client 0", request(with(func(m *Request) { m.Client = 0 })), ErrInvalid},
		{"apply without a session", request(with(func(m *Request) { m.Session = 0 })), ErrInvalid},
		{"apply with request 0", request(with(func(m *Request) { m.Request = 0 })), ErrInvalid},
		{"operation none", request(with(func(m *Request) { m.Operation = OperationNone })), ErrInvalid},
		{"operation 3", request(with(func(m *Request) { m.Operation = 3 })), ErrInvalid},
		{"register with a body", request(withRegister(func(m *Request) { m.Body = []byte{1} })), ErrInvalid},
		{"register with a session", request(withRegister(func(m *Request) { m.Session = 1 })), ErrInvalid},
		{"register with a request", request(withRegister(func(m *Request) { m.Request = 1 })), ErrInvalid},
	})
	codecExpectAccepts(t, request(apply), request(register),
		request(with(func(m *Request) { m.Body = []byte("any bytes at all") })))
}

func codecExpectAccepts(t *testing.T, messages ...[]byte) {
	t.Helper()
	d := NewDecoder(codecCluster, codecReplicas)
	for i, message := range messages {
		if _, err := d.Decode(message); err != nil {
			t.Errorf("message %d: rejected: %v", i, err)
		}
	}
}

// TestCodecRejectsPrepares covers a prepare's header and its batch.
func TestCodecRejectsPrepares(t *testing.T) {
	e := NewEncoder(codecCluster)
	base := PrepareHeader{Parent: Checksum{Lo: 9}, Replica: 2, View: 7, Op: 10, Commit: 9,
		Timestamp: 1, Requests: 2}
	batch := codecBatch(2)
	prepare := func(f func(h *PrepareHeader), body []byte) []byte {
		h := base
		f(&h)
		return bytes.Clone(e.Prepare(&h, body))
	}
	same := func(*PrepareHeader) {}
	entry := func(m Request) []byte { return appendBatchEntry(nil, &m) }
	codecExpectRejects(t, []codecReject{
		{"root op", prepare(func(h *PrepareHeader) { h.Op, h.Commit = 0, 0 }, batch), ErrInvalid},
		{"commit = op", prepare(func(h *PrepareHeader) { h.Commit = 10 }, batch), ErrInvalid},
		{"commit > op", prepare(func(h *PrepareHeader) { h.Commit = 11 }, batch), ErrInvalid},
		{"no requests", prepare(func(h *PrepareHeader) { h.Requests = 0 }, nil), ErrInvalid},
		{"not the view's primary", prepare(func(h *PrepareHeader) { h.Replica = 1 }, batch), ErrInvalid},
		{"view 0 from replica 2", prepare(func(h *PrepareHeader) { h.View = 0 }, batch), ErrInvalid},
		{"count above the batch", prepare(func(h *PrepareHeader) { h.Requests = 3 }, batch), ErrInvalid},
		{"count below the batch", prepare(func(h *PrepareHeader) { h.Requests = 1 }, batch), ErrInvalid},
		{"empty body", prepare(same, nil), ErrInvalid},
		{"bytes after the batch", prepare(same, append(bytes.Clone(batch), 0)), ErrInvalid},
		{"batch entry truncated", prepare(same, batch[:len(batch)-1]), ErrInvalid},
		{"batch entry reserved", prepare(func(h *PrepareHeader) { h.Requests = 1 },
			codecSetByte(entry(Request{Client: 1, Operation: OperationRegister}), 22, 1)), ErrReservedNonZero},
		{"batch request without a client", prepare(func(h *PrepareHeader) { h.Requests = 1 },
			entry(Request{Operation: OperationRegister})), ErrInvalid},
	})
	codecExpectAccepts(t, prepare(same, batch),
		prepare(func(h *PrepareHeader) { h.Op, h.Commit = 1, 0 }, batch),
		prepare(func(h *PrepareHeader) { h.View, h.Replica = 0, 0 }, batch),
		prepare(func(h *PrepareHeader) { h.Parent = Checksum{} }, batch))
}

func codecSetByte(b []byte, at int, value byte) []byte {
	b[at] = value
	return b
}

// TestCodecRejectsSmallMessages covers the invariants of the header-only commands.
func TestCodecRejectsSmallMessages(t *testing.T) {
	e := NewEncoder(codecCluster)
	reply := Reply{Replica: 2, View: 7, Op: 10, Commit: 10, Client: 5, Session: 3, Request: 1,
		Operation: OperationApply}
	withReply := func(f func(m *Reply)) []byte { m := reply; f(&m); return bytes.Clone(e.Reply(&m)) }
	rh := func(min, max Op) []byte {
		return bytes.Clone(e.RequestHeaders(&RequestHeaders{Replica: 1, View: 3, OpMin: min, OpMax: max}))
	}
	codecExpectRejects(t, []codecReject{
		{"prepare_ok of op 0", bytes.Clone(e.PrepareOk(&PrepareOk{Replica: 1, View: 2, Prepare: Checksum{Lo: 1}})), ErrInvalid},
		{"reply to client 0", withReply(func(m *Reply) { m.Client = 0 }), ErrInvalid},
		{"reply at op 0", withReply(func(m *Reply) { m.Op, m.Commit = 0, 0 }), ErrInvalid},
		{"reply commit < op", withReply(func(m *Reply) { m.Commit = 9 }), ErrInvalid},
		{"reply without a session", withReply(func(m *Reply) { m.Session = 0 }), ErrInvalid},
		{"start_view_change view 0", bytes.Clone(e.StartViewChange(&StartViewChange{Replica: 1})), ErrInvalid},
		{"request_start_view view 0", bytes.Clone(e.RequestStartView(&RequestStartView{Replica: 1})), ErrInvalid},
		{"recovery without a nonce", bytes.Clone(e.Recovery(&Recovery{Replica: 1})), ErrInvalid},
		{"request_prepare of op 0", bytes.Clone(e.RequestPrepare(&RequestPrepare{Replica: 1, View: 1, Checksum: Checksum{Hi: 1}})), ErrInvalid},
		{"request_prepare without checksum", bytes.Clone(e.RequestPrepare(&RequestPrepare{Replica: 1, View: 1, Op: 4})), ErrInvalid},
		{"request_headers from op 0", rh(0, 5), ErrInvalid},
		{"request_headers min > max", rh(6, 5), ErrInvalid},
		{"request_headers over HeadersMax", rh(1, HeadersMax+1), ErrInvalid},
		{"request_headers far over", rh(1, 1<<40), ErrInvalid},
		{"eviction of client 0", bytes.Clone(e.Eviction(&Eviction{Replica: 1, View: 1, Session: 3})), ErrInvalid},
	})
	codecExpectAccepts(t, withReply(func(m *Reply) { m.Commit = 11 }), rh(1, HeadersMax), rh(5, 5),
		bytes.Clone(e.Commit(&Commit{})), bytes.Clone(e.Ping(&Ping{Monotonic: -1})),
		bytes.Clone(e.Eviction(&Eviction{Client: 1})))
}

// TestCodecRejectsHeaderBodies covers the bodies of prepare headers: do_view_change,
// start_view, recovery_response and headers.
func TestCodecRejectsHeaderBodies(t *testing.T) {
	e := NewEncoder(codecCluster)
	chain := codecChain(Checksum{Lo: 77}, 21, 5, 7) // ops 21..25 of view 7
	dvc := DoViewChange{Replica: 1, View: 9, LogView: 7, Op: 25, Commit: 22, Present: 0b11111,
		Headers: chain}
	withDVC := func(f func(m *DoViewChange)) []byte {
		m := dvc
		m.Headers = append([]PrepareHeader(nil), chain...)
		f(&m)
		return bytes.Clone(e.DoViewChange(&m))
	}
	unlinked := codecChain(Checksum{Lo: 78}, 24, 2, 7) // ops 24, 25 of another chain
	codecExpectRejects(t, []codecReject{
		{"dvc view 0", withDVC(func(m *DoViewChange) { m.View, m.LogView = 0, 0 }), ErrInvalid},
		{"dvc log view = view", withDVC(func(m *DoViewChange) { m.LogView = 9 }), ErrInvalid},
		{"dvc log view > view", withDVC(func(m *DoViewChange) { m.LogView = 10 }), ErrInvalid},
		{"dvc op without headers", withDVC(func(m *DoViewChange) { m.Headers, m.Present, m.Commit = nil, 0, 0 }), ErrInvalid},
		{"dvc headers at op 0", withDVC(func(m *DoViewChange) { m.Op, m.Commit = 0, 0 }), ErrInvalid},
		{"dvc present bit 5 of 5 headers", withDVC(func(m *DoViewChange) { m.Present = 1 << 5 }), ErrInvalid},
		{"dvc present bit 63", withDVC(func(m *DoViewChange) { m.Present = 1 << 63 }), ErrInvalid},
		{"dvc head is not op", withDVC(func(m *DoViewChange) { m.Op = 26 }), ErrInvalid},
		{"dvc headers skip an op", withDVC(func(m *DoViewChange) {
			m.Headers = append(m.Headers[:2:2], m.Headers[3:]...)
			m.Present = 0b1111
		}), ErrInvalid},
		{"dvc headers not chained", withDVC(func(m *DoViewChange) { m.Headers[3] = unlinked[0] }), ErrInvalid},
		{"dvc headers reversed", withDVC(func(m *DoViewChange) {
			for i, j := 0, len(m.Headers)-1; i < j; i, j = i+1, j-1 {
				m.Headers[i], m.Headers[j] = m.Headers[j], m.Headers[i]
			}
		}), ErrInvalid},
		{"dvc header with commit = op", withDVC(func(m *DoViewChange) {
			bad := codecChain(chain[3].Checksum, 25, 1, 7)[0]
			bad.Commit = 25
			NewEncoder(codecCluster).Prepare(&bad, nil)
			m.Headers[4] = bad
		}), ErrInvalid},
		{"dvc header not from its view's primary", withDVC(func(m *DoViewChange) {
			bad := m.Headers[4]
			bad.Replica = 3
			NewEncoder(codecCluster).Prepare(&bad, nil)
			m.Headers[4] = bad
		}), ErrInvalid},
	})
	// Every command with a body of headers parses it the same way.
	codecExpectRejects(t, codecBodyRejects(t, withDVC(func(*DoViewChange) {})))
	codecExpectRejects(t, codecBodyRejects(t, bytes.Clone(e.StartView(&StartView{Replica: 4,
		View: 9, Op: 25, Commit: 22, Headers: chain}))))
	codecExpectRejects(t, codecBodyRejects(t, bytes.Clone(e.RecoveryResponse(&RecoveryResponse{
		Replica: 4, View: 9, Nonce: 1, Op: 25, Commit: 22, Headers: chain}))))
	codecExpectRejects(t, codecBodyRejects(t, bytes.Clone(e.Headers(&Headers{Replica: 0, View: 9,
		Headers: chain}))))
	codecExpectRejects(t, codecOtherBodyRejects(t, chain))
	codecExpectAccepts(t, withDVC(func(*DoViewChange) {}),
		withDVC(func(m *DoViewChange) { m.Present = 0 }),
		withDVC(func(m *DoViewChange) { m.Commit = 25 }),
		withDVC(func(m *DoViewChange) { m.Headers, m.Present = m.Headers[4:], 1 }))
}

// codecBodyRejects damages the body of a valid message of five headers, resealing every
// checksum, so only the damage can trip.
func codecBodyRejects(t *testing.T, message []byte) []codecReject {
	body := bytes.Clone(message[HeaderSize:])
	header := func(i int, patch func(w *wire)) []byte {
		out := bytes.Clone(body)
		chunk := out[i*HeaderSize : (i+1)*HeaderSize]
		var w wire
		if err := w.parse(chunk, codecCluster); err != nil {
			t.Fatalf("header %d of the body: %v", i, err)
		}
		patch(&w)
		w.write(chunk)
		codecSealHeader(chunk)
		return out
	}
	rebody := func(b []byte, patch func(w *wire)) []byte { return codecRebody(t, message, b, patch) }
	corrupt := bytes.Clone(body)
	corrupt[2*HeaderSize+50] ^= 1
	count := func(n uint32) func(w *wire) { return func(w *wire) { w.count = n } }
	return []codecReject{
		{"header in body with bad checksum", rebody(corrupt, nil), ErrHeaderChecksum},
		{"count above the body", rebody(body, count(6)), ErrInvalid},
		{"count below the body", rebody(body, count(4)), ErrInvalid},
		{"body not a multiple of a header", rebody(body[:len(body)-1], nil), ErrInvalid},
		{"count over HeadersMax", rebody(make([]byte, (HeadersMax+1)*HeaderSize), count(HeadersMax+1)), ErrInvalid},
		{"a commit header among prepares", rebody(header(1, func(w *wire) { w.command = CommandCommit }), nil), ErrInvalid},
		{"header of another cluster", rebody(header(1, func(w *wire) { w.cluster++ }), nil), ErrCluster},
		{"header of version 2", rebody(header(1, func(w *wire) { w.version = 2 }), nil), ErrVersion},
		{"header with a client", rebody(header(0, func(w *wire) { w.client = 1 }), nil), ErrReservedNonZero},
		{"header of op 0", rebody(header(0, func(w *wire) { w.op, w.commit = 0, 0 }), nil), ErrInvalid},
	}
}

// codecOtherBodyRejects covers the rules of start_view, recovery_response and headers.
func codecOtherBodyRejects(t *testing.T, chain []PrepareHeader) []codecReject {
	e := NewEncoder(codecCluster)
	sv := StartView{Replica: 4, View: 9, Op: 25, Commit: 22, Headers: chain}
	withSV := func(f func(m *StartView)) []byte {
		m := sv
		m.Headers = append([]PrepareHeader(nil), chain...)
		f(&m)
		return bytes.Clone(e.StartView(&m))
	}
	rr := RecoveryResponse{Replica: 4, View: 9, Nonce: 3, Op: 25, Commit: 22, Headers: chain}
	withRR := func(f func(m *RecoveryResponse)) []byte {
		m := rr
		m.Headers = append([]PrepareHeader(nil), chain...)
		f(&m)
		return bytes.Clone(e.RecoveryResponse(&m))
	}
	headers := func(hs ...PrepareHeader) []byte {
		return bytes.Clone(e.Headers(&Headers{Replica: 1, View: 9, Headers: hs}))
	}
	swapped := func(hs []PrepareHeader) { hs[1], hs[2] = hs[2], hs[1] }
	return []codecReject{
		{"start_view not from the primary", withSV(func(m *StartView) { m.Replica = 3 }), ErrInvalid},
		{"start_view commit > op", withSV(func(m *StartView) { m.Commit = 26 }), ErrInvalid},
		{"start_view op 0 with headers", withSV(func(m *StartView) { m.Op, m.Commit = 0, 0 }), ErrInvalid},
		{"start_view op without headers", withSV(func(m *StartView) { m.Headers = nil }), ErrInvalid},
		{"start_view not chained", withSV(func(m *StartView) { swapped(m.Headers) }), ErrInvalid},
		{"recovery_response without nonce", withRR(func(m *RecoveryResponse) { m.Nonce = 0 }), ErrInvalid},
		{"recovery_response log from a backup", withRR(func(m *RecoveryResponse) { m.Replica = 1 }), ErrInvalid},
		{"recovery_response op from a backup", withRR(func(m *RecoveryResponse) {
			m.Replica, m.Headers, m.Commit = 1, nil, 0
		}), ErrInvalid},
		{"recovery_response commit from a backup", withRR(func(m *RecoveryResponse) {
			m.Replica, m.Headers, m.Op = 1, nil, 0
		}), ErrInvalid},
		{"recovery_response commit > op", withRR(func(m *RecoveryResponse) { m.Commit = 26 }), ErrInvalid},
		{"recovery_response op without headers", withRR(func(m *RecoveryResponse) { m.Headers = nil }), ErrInvalid},
		{"recovery_response not chained", withRR(func(m *RecoveryResponse) { swapped(m.Headers) }), ErrInvalid},
		{"headers empty", headers(), ErrInvalid},
		{"headers repeated", headers(chain[1], chain[1]), ErrInvalid},
		{"headers descending", headers(chain[3], chain[1]), ErrInvalid},
	}
}

// TestCodecRejectsEveryBitFlip flips each bit of every sample, one at a time: the header's
// checksum covers the header, the body's checksum the body, so no flip may pass.
func TestCodecRejectsEveryBitFlip(t *testing.T) {
	d := NewDecoder(codecCluster, codecReplicas)
	for _, s := range codecSamples() {
		message := bytes.Clone(s.message)
		for bit := 0; bit < 8*len(message); bit++ {
			message[bit/8] ^= 1 << (bit % 8)
			_, err := d.Decode(message)
			message[bit/8] ^= 1 << (bit % 8)
			want := ErrHeaderChecksum
			if bit/8 >= HeaderSize {
				want = ErrBodyChecksum
			}
			if !errors.Is(err, want) {
				t.Fatalf("%s with bit %d flipped: got %v, want %v", s.name, bit, err, want)
			}
		}
		if _, err := d.Decode(message); err != nil {
			t.Fatalf("%s after the flips: %v", s.name, err)
		}
	}
}

// TestCodecEncoderBuffer: the encoder's buffer grows for a large message and is reused
// after it; a message over the codec's bound is a bug of the caller, and panics.
func TestCodecEncoderBuffer(t *testing.T) {
	e := NewEncoder(codecCluster)
	d := NewDecoder(codecCluster, codecReplicas)
	big := Request{Client: 1, Session: 2, Request: 3, Operation: OperationApply,
		Body: bytes.Repeat([]byte{0xab}, MessageSizeMax-HeaderSize)}
	for _, m := range []Request{big, {Client: 1, Operation: OperationRegister}, big} {
		if _, err := d.Decode(e.Request(&m)); err != nil || !bytes.Equal(d.Request.Body, m.Body) {
			t.Fatalf("a request of %d bytes: %v", len(m.Body), err)
		}
	}
	big.Body = append(big.Body, 0)
	unitMustPanic(t, "over the codec's size bound", func() { e.Request(&big) })
}
