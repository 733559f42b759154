package core

// Encoder turns typed messages into bytes. It reuses one buffer: the bytes it returns are
// valid until its next call, which is all a sender needs (the bus copies them).
type Encoder struct {
	cluster uint64
	buf     []byte
}

// NewEncoder returns an encoder for a cluster.
func NewEncoder(cluster uint64) *Encoder {
	return &Encoder{cluster: cluster, buf: make([]byte, HeaderSize, 4096)}
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
	return e.buf
}

// sealHeaders is seal with a body of prepare headers, written in place.
func (e *Encoder) sealHeaders(w *wire, headers []PrepareHeader) []byte {
	size := HeaderSize * (1 + len(headers))
	if cap(e.buf) < size {
		e.buf = make([]byte, size, size*2)
	}
	e.buf = e.buf[:size]
	for i := range headers {
		var hw wire
		headers[i].toWire(&hw, e.cluster)
		hw.write(e.buf[HeaderSize*(1+i):])
	}
	w.count = uint32(len(headers))
	w.cluster = e.cluster
	w.put(e.buf, e.buf[HeaderSize:])
	return e.buf
}

func (h *PrepareHeader) toWire(w *wire, cluster uint64) {
	*w = wire{checksum: h.Checksum, checksumBody: h.ChecksumBody, context: h.Parent,
		cluster: cluster, size: h.Size, command: CommandPrepare, replica: h.Replica,
		version: wireVersion, view: uint64(h.View), op: uint64(h.Op), commit: uint64(h.Commit),
		a: h.Timestamp, count: h.Requests}
}

func (h *PrepareHeader) fromWire(w *wire) {
	*h = PrepareHeader{Checksum: w.checksum, ChecksumBody: w.checksumBody, Parent: w.context,
		Replica: w.replica, View: View(w.view), Op: Op(w.op), Commit: Op(w.commit),
		Timestamp: w.a, Requests: w.count, Size: w.size}
}

// Prepare seals a new prepare: it fills in the header's checksums and size.
func (e *Encoder) Prepare(h *PrepareHeader, body []byte) []byte {
	w := wire{command: CommandPrepare, context: h.Parent, replica: h.Replica,
		view: uint64(h.View), op: uint64(h.Op), commit: uint64(h.Commit), a: h.Timestamp,
		count: h.Requests}
	out := e.seal(&w, body)
	h.Checksum, h.ChecksumBody, h.Size = w.checksum, w.checksumBody, w.size
	return out
}

func (e *Encoder) Request(m *Request) []byte {
	w := wire{command: CommandRequest, client: uint64(m.Client), a: uint64(m.Session),
		request: uint32(m.Request), operation: uint8(m.Operation), view: uint64(m.View)}
	return e.seal(&w, m.Body)
}

func (e *Encoder) PrepareOk(m *PrepareOk) []byte {
	w := wire{command: CommandPrepareOk, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), commit: uint64(m.Commit), context: m.Prepare}
	return e.seal(&w, nil)
}

func (e *Encoder) Reply(m *Reply) []byte {
	w := wire{command: CommandReply, replica: m.Replica, view: uint64(m.View), op: uint64(m.Op),
		commit: uint64(m.Commit), client: uint64(m.Client), a: uint64(m.Session),
		request: uint32(m.Request), operation: uint8(m.Operation)}
	return e.seal(&w, m.Body)
}

func (e *Encoder) Commit(m *Commit) []byte {
	w := wire{command: CommandCommit, replica: m.Replica, view: uint64(m.View),
		commit: uint64(m.Commit), context: m.CommitChecksum}
	return e.seal(&w, nil)
}

func (e *Encoder) StartViewChange(m *StartViewChange) []byte {
	w := wire{command: CommandStartViewChange, replica: m.Replica, view: uint64(m.View)}
	return e.seal(&w, nil)
}

func (e *Encoder) DoViewChange(m *DoViewChange) []byte {
	w := wire{command: CommandDoViewChange, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.LogView), op: uint64(m.Op), commit: uint64(m.Commit), b: m.Present,
		c: uint64(m.RecoveredOp)}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) StartView(m *StartView) []byte {
	w := wire{command: CommandStartView, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), commit: uint64(m.Commit), a: m.Nonce}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) RequestStartView(m *RequestStartView) []byte {
	w := wire{command: CommandRequestStartView, replica: m.Replica, view: uint64(m.View)}
	return e.seal(&w, nil)
}

func (e *Encoder) Recovery(m *Recovery) []byte {
	w := wire{command: CommandRecovery, replica: m.Replica, a: m.Nonce}
	return e.seal(&w, nil)
}

func (e *Encoder) RecoveryResponse(m *RecoveryResponse) []byte {
	w := wire{command: CommandRecoveryResponse, replica: m.Replica, view: uint64(m.View),
		a: m.Nonce, op: uint64(m.Op), commit: uint64(m.Commit)}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) RequestPrepare(m *RequestPrepare) []byte {
	w := wire{command: CommandRequestPrepare, replica: m.Replica, view: uint64(m.View),
		op: uint64(m.Op), context: m.Checksum}
	return e.seal(&w, nil)
}

func (e *Encoder) RequestHeaders(m *RequestHeaders) []byte {
	w := wire{command: CommandRequestHeaders, replica: m.Replica, view: uint64(m.View),
		commit: uint64(m.OpMin), op: uint64(m.OpMax)}
	return e.seal(&w, nil)
}

func (e *Encoder) Headers(m *Headers) []byte {
	w := wire{command: CommandHeaders, replica: m.Replica, view: uint64(m.View)}
	return e.sealHeaders(&w, m.Headers)
}

func (e *Encoder) Eviction(m *Eviction) []byte {
	w := wire{command: CommandEviction, replica: m.Replica, view: uint64(m.View),
		client: uint64(m.Client), a: uint64(m.Session)}
	return e.seal(&w, nil)
}

func (e *Encoder) Ping(m *Ping) []byte {
	w := wire{command: CommandPing, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.Monotonic)}
	return e.seal(&w, nil)
}

func (e *Encoder) Pong(m *Pong) []byte {
	w := wire{command: CommandPong, replica: m.Replica, view: uint64(m.View),
		a: uint64(m.PingMonotonic), b: uint64(m.Realtime)}
	return e.seal(&w, nil)
}
