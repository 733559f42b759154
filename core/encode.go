package core

import "fmt"

// Encoder turns typed messages into bytes. It reuses one buffer: the bytes it returns are
// valid until its next call, which is all a sender needs (the bus copies them).
//
// Every encoder asserts what the wire needs: each message it seals carries only its
// command's fields and stays within the codec's bound, and every prepare header it sends
// verifies against its bytes (a new prepare's, and each one carried in a body). An
// encoder made for a cluster's replica or client (newCheckedEncoder) also asserts, before
// a message leaves, every rule its receiver's decoder will check, and what its sender's
// protocol guarantees besides (who sends it, views and commits that never go back, a
// primary's prepares that extend each other). A bare encoder (NewEncoder) leaves those
// out, because it does not know the cluster's size and because tests forge invalid
// messages with it to see them rejected.
type Encoder struct {
	cluster uint64
	buf     []byte

	checked bool
	config  Config // the cluster's, when checked
	sender  int    // when checked: the sending replica's index, or senderClient

	// What a checked encoder has sent, to assert that its sender never goes back.
	viewLast      View          // the highest view of any message sent (but a request_start_view)
	commitMaxLast Op            // the highest commit number the sender has announced
	commitMinLast Op            // the highest executed op it has acknowledged with
	commitLast    Commit        // the last commit message: an op committed keeps its checksum
	prepareLast   PrepareHeader // the last prepare sealed: the next of the view extends it
	requestLast   Request       // the last request sealed (its body not kept)
	pingLast      int64         // the monotonic clock of the last ping
	dvcLast       DoViewChange  // the last do_view_change (its headers not kept)
	startViewLast StartView     // the last start_view (its headers not kept)
	recoveryNonce uint64        // the nonce of the recovery under way
}

// NewEncoder returns a bare encoder for a cluster.
func NewEncoder(cluster uint64) *Encoder {
	return &Encoder{cluster: cluster, buf: make([]byte, HeaderSize, 4096)}
}

// senderClient is the sender of a client's encoder (a replica's is its index).
const senderClient = -1

// newCheckedEncoder returns the encoder of a replica (sender is its index) or of a client
// (senderClient) of the cluster: it asserts every message valid for that cluster, and
// its sender's to send, before it leaves.
func newCheckedEncoder(config *Config, sender int) *Encoder {
	if err := config.Validate(); err != nil {
		panic(fmt.Sprintf("core: encoder for an invalid config: %v", err))
	}
	assert(sender == senderClient || (sender >= 0 && sender < config.Replicas))
	e := NewEncoder(config.Cluster)
	e.checked, e.config, e.sender = true, *config, sender
	return e
}

// seal writes header w and body into the buffer and returns the message.
func (e *Encoder) seal(w *wire, body []byte) []byte {
	size := HeaderSize + len(body)
	if size > MessageSizeMax {
		panic("core: message over the codec's size bound")
	}
	if cap(e.buf) < size {
		e.buf = make([]byte, size, size*2)
	}
	e.buf = e.buf[:size]
	copy(e.buf[HeaderSize:], body)
	w.cluster = e.cluster
	w.put(e.buf, e.buf[HeaderSize:])
	e.sealed(w)
	return e.buf
}

// sealed asserts, of the message just sealed into the buffer, what its receiver's decoder
// checks first that the encoder could get wrong: the size, and no field set that its
// command does not carry. (put computes the checksums from the bytes as written; verifying
// them again here would double the cost of sealing a small message for a property put's
// ten lines establish.) A checked encoder also holds it to the cluster's bounds.
func (e *Encoder) sealed(w *wire) {
	out := e.buf
	assert(int(w.size) == len(out))
	if err := w.unused(commandUses[w.command]); err != nil {
		panic(fmt.Sprintf("core: %v sealed with a field its command does not carry", w.command))
	}
	if !e.checked {
		return
	}
	// A client sends requests, and a replica everything else, each under its own index
	// (which is the decoder's rule too: a replica of the cluster).
	assert((e.sender == senderClient) == w.command.fromClient())
	assert(w.command.fromClient() || int(w.replica) == e.sender)
	assert(w.command.fromClient() || int(w.replica) < e.config.Replicas)
	// A reply carries the state machine's output, which the StateMachine interface does
	// not bound; every other message is built to fit the cluster's bound.
	if w.command != CommandReply && int(w.size) > e.config.MessageSizeMax {
		panic(fmt.Sprintf("core: %v of %d bytes, over the bound of %d", w.command, w.size,
			e.config.MessageSizeMax))
	}
	// A replica never goes back to a lower view, nor a client's guess of the view; a
	// request_start_view names the higher view it asks for, and a recovery none.
	if w.command != CommandRequestStartView && w.command != CommandRecovery {
		if View(w.view) < e.viewLast {
			panic(fmt.Sprintf("core: %v of view %d after a message of view %d", w.command,
				w.view, e.viewLast))
		}
		e.viewLast = View(w.view)
	}
}

// announced asserts that a commit number the sender announces never goes back: commitMax
// only grows (VRR: what is committed stays committed).
func (e *Encoder) announced(command Command, commit Op) {
	assert(e.checked)
	if commit < e.commitMaxLast {
		panic(fmt.Sprintf("core: %v announces commit %d after %d", command, commit, e.commitMaxLast))
	}
	e.commitMaxLast = commit
}

// sealHeaders is seal with a body of prepare headers, written in place.
func (e *Encoder) sealHeaders(w *wire, headers []PrepareHeader) []byte {
	assert(len(headers) <= HeadersMax)
	size := HeaderSize * (1 + len(headers))
	if cap(e.buf) < size {
		e.buf = make([]byte, size, size*2)
	}
	e.buf = e.buf[:size]
	for i := range headers {
		h := &headers[i]
		if e.checked {
			if err := validPrepareHeader(h, nil, e.config.Replicas); err != nil {
				panic(fmt.Sprintf("core: %v with an invalid header: %v", w.command, err))
			}
			// The header of a prepare whose body is a batch of Requests entries.
			assert(uint64(h.Size) >= HeaderSize+batchEntrySize*uint64(h.Requests))
			// A log holds no prepare of a view after its own: one from a later view would
			// have moved the replica to that view first.
			assert(h.View <= View(w.view))
			// A prepare this cluster's primaries make: linked to its parent, timestamped, a
			// batch, within the pipeline, that fits.
			assert(!h.Parent.IsZero())
			assert(h.Timestamp != 0)
			assert(h.Requests <= uint32(e.config.BatchMax))
			assert(h.Op-h.Commit <= Op(e.config.PipelineMax))
			assert(int(h.Size) <= e.config.MessageSizeMax)
		}
		var hw wire
		h.toWire(&hw, e.cluster)
		chunk := e.buf[HeaderSize*(1+i) : HeaderSize*(2+i)]
		hw.write(chunk)
		// Written again from its fields, a header still verifies: no field of it changed
		// after it was sealed (in the log, say), and toWire maps every field Prepare does.
		if checksumOf(chunk[16:]) != h.Checksum {
			panic(fmt.Sprintf("core: %v carries header of op %d that does not verify",
				w.command, h.Op))
		}
	}
	w.count = uint32(len(headers))
	w.cluster = e.cluster
	w.put(e.buf, e.buf[HeaderSize:])
	e.sealed(w)
	return e.buf
}

// chainedWindow asserts that headers are the window of a log a view change carries (the
// decoder's rule): none at op 0, else consecutive ops ending at head, each linking to the
// one below; and (the sender's) no more than the pipeline and the op below it. Along a
// chain, each prepare was made after its parent: in the same view or a later one, at a
// later cluster time, and in the same view by the same primary, whose commit only grows.
func (e *Encoder) chainedWindow(headers []PrepareHeader, head Op) {
	assert(e.checked)
	assert((len(headers) == 0) == (head == 0))
	assert(len(headers) <= e.config.PipelineMax+1)
	for i := range headers {
		assert(headers[i].Op == head-Op(len(headers)-1-i))
		if i > 0 {
			h, parent := &headers[i], &headers[i-1]
			assert(h.Parent == parent.Checksum)
			assert(h.View >= parent.View)
			assert(h.Timestamp > parent.Timestamp)
			assert(h.View != parent.View || h.Commit >= parent.Commit)
		}
	}
}

func (h *PrepareHeader) toWire(w *wire, cluster uint64) {
	// A sealed header: its size is one a decoder accepts, its checksum set.
	assert(h.Size >= HeaderSize)
	assert(h.Size <= MessageSizeMax)
	assert(!h.Checksum.IsZero())
	*w = wire{checksum: h.Checksum, checksumBody: h.ChecksumBody, context: h.Parent,
		cluster: cluster, size: h.Size, command: CommandPrepare, replica: h.Replica,
		version: wireVersion, view: uint64(h.View), op: uint64(h.Op), commit: uint64(h.Commit),
		a: h.Timestamp, count: h.Requests}
}

func (h *PrepareHeader) fromWire(w *wire) {
	assert(w.command == CommandPrepare)
	*h = PrepareHeader{Checksum: w.checksum, ChecksumBody: w.checksumBody, Parent: w.context,
		Replica: w.replica, View: View(w.view), Op: Op(w.op), Commit: Op(w.commit),
		Timestamp: w.a, Requests: w.count, Size: w.size}
}

// Prepare seals a new prepare: it fills in the header's checksums and size.
func (e *Encoder) Prepare(h *PrepareHeader, body []byte) []byte {
	if e.checked {
		e.preparing(h, body)
	}
	w := wire{command: CommandPrepare, context: h.Parent, replica: h.Replica,
		view: uint64(h.View), op: uint64(h.Op), commit: uint64(h.Commit), a: h.Timestamp,
		count: h.Requests}
	out := e.seal(&w, body)
	h.Checksum, h.ChecksumBody, h.Size = w.checksum, w.checksumBody, w.size
	// The header the log keeps names the bytes sent: its checksum verifies against them, as
	// every backup will verify it (once per prepare, not per message: see sealed).
	assert(checksumOf(out[16:HeaderSize]) == h.Checksum)
	if e.checked {
		e.prepareLast = *h
	}
	return out
}

// preparing asserts what a primary's new prepare must be: valid for every backup's decoder
// (its body a batch of exactly Requests requests), within the batch and the pipeline, and
// the next link of the chain this primary has been sealing in its view.
func (e *Encoder) preparing(h *PrepareHeader, body []byte) {
	assert(e.checked)
	if err := validPrepareHeader(h, body, e.config.Replicas); err != nil {
		panic("core: sending an invalid prepare: " + err.Error())
	}
	assert(h.Requests <= uint32(e.config.BatchMax))
	assert(h.Op-h.Commit <= Op(e.config.PipelineMax))
	assert(!h.Parent.IsZero())
	// Cluster time never goes back at a replica, whatever view it prepares in.
	assert(h.Timestamp > e.prepareLast.Timestamp)
	last := &e.prepareLast
	if h.View == last.View && !last.Checksum.IsZero() {
		if h.Op != last.Op+1 || h.Parent != last.Checksum {
			panic(fmt.Sprintf("core: prepare of op %d in view %d does not extend op %d, the last",
				h.Op, h.View, last.Op))
		}
	}
	e.announced(CommandPrepare, h.Commit)
}

func (e *Encoder) Request(m *Request) []byte {
	if e.checked {
		e.requesting(m)
	}
	w := wire{command: CommandRequest, client: uint64(m.Client), a: uint64(m.Session),
		request: uint32(m.Request), operation: uint8(m.Operation), view: uint64(m.View)}
	return e.seal(&w, m.Body)
}

// requesting asserts what a client's request must be: valid for the replicas' decoder,
// able to fit in a prepare, and the next of its client's: one register under each identity,
// then the session's requests numbered from 1 without a gap (a retry resends the bytes).
func (e *Encoder) requesting(m *Request) {
	assert(e.checked)
	if err := validRequest(m); err != nil {
		panic("core: sending an invalid request: " + err.Error())
	}
	// A request the primary could never fit in a prepare would be dropped forever.
	assert(batchSize(m) <= e.config.MessageSizeMax-HeaderSize)
	last := &e.requestLast
	if m.Client != last.Client {
		assert(m.Operation == OperationRegister)
	} else {
		assert(m.Operation == OperationApply)
		assert(last.Session == 0 || m.Session == last.Session)
		assert(m.Request == last.Request+1)
	}
	*last = Request{Client: m.Client, Session: m.Session, Request: m.Request}
}

func (e *Encoder) PrepareOk(m *PrepareOk) []byte {
	if e.checked {
		assert(m.Op != 0) // the decoder's rule
		assert(!m.Prepare.IsZero())
		// A backup acknowledges to its primary, never the primary itself; if it ever was a
		// primary, that was in an earlier view.
		assert(m.Replica != e.config.primaryOf(m.View))
		assert(e.prepareLast.Checksum.IsZero() || m.View > e.prepareLast.View)
		// Commit is the op the backup has executed, which never goes back.
		assert(m.Commit >= e.commitMinLast)
		e.commitMinLast = m.Commit
	}
	w := wire{command: CommandPrepareOk, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), commit: uint64(m.Commit), context: m.Prepare}
	return e.seal(&w, nil)
}

func (e *Encoder) Reply(m *Reply) []byte {
	if e.checked {
		e.replying(m)
	}
	w := wire{command: CommandReply, replica: m.Replica, view: uint64(m.View), op: uint64(m.Op),
		commit: uint64(m.Commit), client: uint64(m.Client), a: uint64(m.Session),
		request: uint32(m.Request), operation: uint8(m.Operation)}
	return e.seal(&w, m.Body)
}

// replying asserts what a reply must be: what the client's decoder checks, and the answer
// to a request that ran at Op within its session. A session's number is the op of its
// register, so a register's reply names its own op as its session, and a later request of
// the session ran at a later op. (That only the primary of its view replies, the client
// checks as a reply arrives: tests build the replies a backup's client table keeps.)
func (e *Encoder) replying(m *Reply) {
	assert(e.checked)
	// The decoder's rules.
	assert(m.Client != 0)
	assert(m.Op != 0)
	assert(m.Commit >= m.Op)
	assert(m.Session != 0)
	switch m.Operation {
	case OperationRegister:
		assert(m.Request == 0)
		assert(m.Session == Session(m.Op))
		assert(len(m.Body) == 0)
	case OperationApply:
		assert(m.Request != 0)
		assert(Session(m.Op) > m.Session)
	default:
		panic(fmt.Sprintf("core: reply of operation %d", m.Operation))
	}
}

func (e *Encoder) Commit(m *Commit) []byte {
	if e.checked {
		// Only the primary of a view announces its commits, naming the committed prepare.
		assert(m.Replica == e.config.primaryOf(m.View))
		assert(!m.CommitChecksum.IsZero())
		// A primary commits no further than it has prepared.
		assert(m.View != e.prepareLast.View || m.Commit <= e.prepareLast.Op)
		// What is committed stays: the same op, the same prepare, in any view.
		last := &e.commitLast
		assert(last.CommitChecksum.IsZero() || m.Commit != last.Commit ||
			m.CommitChecksum == last.CommitChecksum)
		e.commitLast = *m
		e.announced(CommandCommit, m.Commit)
	}
	w := wire{command: CommandCommit, replica: m.Replica, view: uint64(m.View),
		commit: uint64(m.Commit), context: m.CommitChecksum}
	return e.seal(&w, nil)
}

func (e *Encoder) StartViewChange(m *StartViewChange) []byte {
	if e.checked {
		assert(m.View != 0) // the decoder's rule: view 0 is where every replica starts
		// A replica leaves a view it was never normal in, so never prepared in.
		assert(e.prepareLast.Checksum.IsZero() || m.View > e.prepareLast.View)
	}
	w := wire{command: CommandStartViewChange, replica: m.Replica, view: uint64(m.View)}
	return e.seal(&w, nil)
}

func (e *Encoder) DoViewChange(m *DoViewChange) []byte {
	if e.checked {
		// The decoder's rules: a view change to a view after the last normal one, carrying
		// the window of the sender's log, a present bit only for a header carried.
		assert(m.View != 0)
		assert(m.LogView < m.View)
		e.chainedWindow(m.Headers, m.Op)
		assert(len(m.Headers) == 64 || m.Present>>len(m.Headers) == 0)
		// The new primary records its own do_view_change; the others send theirs to it.
		assert(m.Replica != e.config.primaryOf(m.View))
		// Whatever the sender prepared, it prepared as a normal primary: in its log view
		// or before, never in the view it is changing to.
		assert(e.prepareLast.View <= m.LogView)
		// Sent again in the view (its log may have grown), it is from the same last normal
		// view and the same recovery.
		last := &e.dvcLast
		assert(m.View != last.View || m.LogView == last.LogView)
		assert(m.View != last.View || m.RecoveredOp == last.RecoveredOp)
		*last = DoViewChange{View: m.View, LogView: m.LogView, RecoveredOp: m.RecoveredOp}
		e.announced(CommandDoViewChange, m.Commit)
	}
	w := wire{command: CommandDoViewChange, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.LogView), op: uint64(m.Op), commit: uint64(m.Commit), b: m.Present,
		c: uint64(m.RecoveredOp), client: uint64(m.Missing)}
	// The decoder's rule: a missing op lies below the window.
	assert(m.Missing == 0 || len(m.Headers) > 0 && m.Missing < m.Headers[0].Op)
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) StartView(m *StartView) []byte {
	if e.checked {
		// The decoder's rules: from the view's primary, its window, its commit within it.
		assert(m.Replica == e.config.primaryOf(m.View))
		e.chainedWindow(m.Headers, m.Op)
		assert(m.Commit <= m.Op)
		// The primary has at most a pipeline of ops above its commit, and its head is the
		// last op it prepared in the view, if it has prepared one.
		assert(m.Op-m.Commit <= Op(e.config.PipelineMax))
		assert(m.View != e.prepareLast.View || m.Op == e.prepareLast.Op)
		// The window reaches down to the commit: a backup installing it gets every op that
		// may not have committed.
		assert(len(m.Headers) == 0 || m.Headers[0].Op <= m.Commit+1)
		// Within its view a primary's log only grows.
		assert(m.View != e.startViewLast.View || m.Op >= e.startViewLast.Op)
		e.startViewLast = StartView{View: m.View, Op: m.Op}
		e.announced(CommandStartView, m.Commit)
	}
	w := wire{command: CommandStartView, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), commit: uint64(m.Commit), a: m.Nonce}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) RequestStartView(m *RequestStartView) []byte {
	if e.checked {
		assert(m.View != 0) // the decoder's rule
		// A replica asks the primary of a view it has not reached: it is not that primary.
		assert(m.Replica != e.config.primaryOf(m.View))
		assert(m.View > e.viewLast)
	}
	w := wire{command: CommandRequestStartView, replica: m.Replica, view: uint64(m.View)}
	return e.seal(&w, nil)
}

func (e *Encoder) Recovery(m *Recovery) []byte {
	if e.checked {
		assert(m.Nonce != 0) // the decoder's rule: responses are matched by it
		// A recovering replica takes no part in the protocol: it has sent nothing of a view,
		// and prepared nothing.
		assert(e.viewLast == 0)
		assert(e.commitMaxLast == 0)
		assert(e.prepareLast.Checksum.IsZero())
		// A replica recovers once, every recovery message with the nonce of that recovery.
		assert(e.recoveryNonce == 0 || m.Nonce == e.recoveryNonce)
		e.recoveryNonce = m.Nonce
	}
	w := wire{command: CommandRecovery, replica: m.Replica, a: m.Nonce}
	return e.seal(&w, nil)
}

func (e *Encoder) RecoveryResponse(m *RecoveryResponse) []byte {
	if e.checked {
		assert(m.Nonce != 0) // the decoder's rule: the recovering replica's, echoed
		if m.Replica == e.config.primaryOf(m.View) {
			// The primary's log: the window, its commit within it, a pipeline above it.
			e.chainedWindow(m.Headers, m.Op)
			assert(m.Commit <= m.Op)
			assert(m.Op-m.Commit <= Op(e.config.PipelineMax))
			assert(m.View != e.prepareLast.View || m.Op == e.prepareLast.Op)
			assert(len(m.Headers) == 0 || m.Headers[0].Op <= m.Commit+1) // as in a start_view
			e.announced(CommandRecoveryResponse, m.Commit)
		} else {
			// The decoder's rule: a backup's log is not to be recovered from.
			assert(len(m.Headers) == 0)
			assert(m.Op == 0)
			assert(m.Commit == 0)
		}
	}
	w := wire{command: CommandRecoveryResponse, replica: m.Replica, view: uint64(m.View),
		a: m.Nonce, op: uint64(m.Op), commit: uint64(m.Commit)}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) RequestPrepare(m *RequestPrepare) []byte {
	if e.checked {
		// The decoder's rules: the root is never repaired, and a prepare is asked for by
		// the checksum the asker's chain names.
		assert(m.Op != 0)
		assert(!m.Checksum.IsZero())
	}
	w := wire{command: CommandRequestPrepare, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), context: m.Checksum}
	return e.seal(&w, nil)
}

func (e *Encoder) RequestHeaders(m *RequestHeaders) []byte {
	if e.checked {
		// The decoder's rules: a range above the root that one headers message can answer.
		assert(m.OpMin != 0)
		assert(m.OpMin <= m.OpMax)
		assert(m.OpMax-m.OpMin < HeadersMax)
	}
	w := wire{command: CommandRequestHeaders, replica: m.Replica, view: uint64(m.View),
		commit: uint64(m.OpMin), op: uint64(m.OpMax)}
	return e.seal(&w, nil)
}

func (e *Encoder) Headers(m *Headers) []byte {
	if e.checked {
		// The decoder's rules: some headers, in ascending order of op.
		headers := m.Headers
		assert(len(headers) != 0)
		for i := 1; i < len(headers); i++ {
			assert(headers[i].Op > headers[i-1].Op)
		}
		// They answer a request_headers, whose range one message can hold.
		assert(headers[len(headers)-1].Op-headers[0].Op < HeadersMax)
	}
	w := wire{command: CommandHeaders, replica: m.Replica, view: uint64(m.View)}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) Eviction(m *Eviction) []byte {
	if e.checked {
		assert(m.Client != 0) // the decoder's rule
		// The primary evicts a session it knew: the client matches it to its own.
		assert(m.Session != 0)
		assert(m.Replica == e.config.primaryOf(m.View))
	}
	w := wire{command: CommandEviction, replica: m.Replica, view: uint64(m.View),
		client: uint64(m.Client), a: uint64(m.Session)}
	return e.seal(&w, nil)
}

func (e *Encoder) Ping(m *Ping) []byte {
	if e.checked {
		// The sender's monotonic clock, which never goes back (Clock).
		assert(m.Monotonic >= e.pingLast)
		e.pingLast = m.Monotonic
	}
	// The decoder's rule: a checkpoint with its op's checksum, or neither.
	assert((m.Checkpoint == 0) == m.CheckpointChecksum.IsZero())
	w := wire{command: CommandPing, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.Monotonic), op: uint64(m.Checkpoint), commit: uint64(m.Oldest), context: m.CheckpointChecksum}
	return e.seal(&w, nil)
}

func (e *Encoder) RequestCheckpoint(m *RequestCheckpoint) []byte {
	// The decoder's rules: a checkpoint's op, and a chunk only of a named checkpoint.
	assert(m.Op > 0)
	assert(!m.Checksum.IsZero() || m.Chunk == 0)
	w := wire{command: CommandRequestCheckpoint, replica: m.Replica, view: uint64(m.View), op: uint64(m.Op),
		context: m.Checksum, request: m.Chunk}
	return e.seal(&w, nil)
}

func (e *Encoder) CheckpointManifest(m *CheckpointManifest) []byte {
	// The decoder's rules: a checkpoint, its op's header, and sums that make up its identity.
	assert(m.ID.Op > 0 && m.ID.Size >= checkpointHeadSize && m.Header.Op == m.ID.Op)
	assert(len(m.Sums) > 0 && checksumOfSums(m.Sums) == m.ID.Checksum)
	size := 2*HeaderSize + 16*len(m.Sums)
	if size > MessageSizeMax {
		panic("core: message over the codec's size bound")
	}
	if cap(e.buf) < size {
		e.buf = make([]byte, size, size*2)
	}
	e.buf = e.buf[:size]
	var hw wire
	m.Header.toWire(&hw, e.cluster)
	hw.write(e.buf[HeaderSize : 2*HeaderSize])
	for i := range m.Sums {
		m.Sums[i].put(e.buf[2*HeaderSize+16*i:])
	}
	w := wire{command: CommandCheckpointManifest, replica: m.Replica, view: uint64(m.View), op: uint64(m.ID.Op),
		a: m.ID.Size, context: m.ID.Checksum, count: uint32(len(m.Sums)), cluster: e.cluster}
	w.put(e.buf, e.buf[HeaderSize:])
	e.sealed(&w)
	return e.buf
}

func (e *Encoder) CheckpointChunk(m *CheckpointChunk) []byte {
	// The decoder's rules: a checkpoint, and a chunk of it that is not empty.
	assert(m.ID.Op > 0 && m.ID.Size >= checkpointHeadSize && !m.ID.Checksum.IsZero())
	assert(len(m.Body) > 0 && uint64(m.Chunk)*uint64(len(m.Body)) < m.ID.Size)
	w := wire{command: CommandCheckpointChunk, replica: m.Replica, view: uint64(m.View), op: uint64(m.ID.Op),
		a: m.ID.Size, context: m.ID.Checksum, request: m.Chunk}
	return e.seal(&w, m.Body)
}

func (e *Encoder) Pong(m *Pong) []byte {
	w := wire{command: CommandPong, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.PingMonotonic), b: uint64(m.Realtime)}
	return e.seal(&w, nil)
}
