package core

// decodeHeaders parses a body of prepare headers into the decoder's scratch slice. Each
// must be a sealed prepare header with a valid checksum and the shape of a prepare.
func (d *Decoder) decodeHeaders(body []byte) ([]PrepareHeader, error) {
	count := int(d.w.count)
	if count > HeadersMax || len(body) != count*HeaderSize {
		return nil, invalid("%d headers in a body of %d bytes", count, len(body))
	}
	headers := d.headers[:0]
	var w wire
	for i := 0; i < count; i++ {
		if err := w.parse(body[i*HeaderSize:(i+1)*HeaderSize], d.cluster); err != nil {
			return nil, err
		}
		if w.command != CommandPrepare {
			return nil, invalid("a %v header among prepare headers", w.command)
		}
		if err := w.unused(prepareUses); err != nil {
			return nil, err
		}
		var h PrepareHeader
		h.fromWire(&w)
		if err := validPrepareHeader(&h, nil, d.replicas); err != nil {
			return nil, err
		}
		headers = append(headers, h)
	}
	// The scratch holds any body the decoder accepts: decoding never allocates, and the
	// headers a caller reads are valid until the next Decode, as the Decoder promises.
	assert(cap(headers) == HeadersMax)
	d.headers = headers
	return headers, nil
}

// chained checks that headers are consecutive ops, each linking to the one before, and that
// the last is at op head.
func chained(headers []PrepareHeader, head Op) error {
	assert(len(headers) <= HeadersMax) // decodeHeaders' bound
	for i := range headers {
		if headers[i].Op != head-Op(len(headers)-1-i) {
			return invalid("header %d of %d is op %d, want op %d", i, len(headers), headers[i].Op, head-Op(len(headers)-1-i))
		}
		if i > 0 && headers[i].Parent != headers[i-1].Checksum {
			return invalid("header of op %d does not link to op %d", headers[i].Op, headers[i-1].Op)
		}
	}
	return nil
}

func (d *Decoder) doViewChange(body []byte) error {
	w := &d.w
	assert(w.command == CommandDoViewChange)
	headers, err := d.decodeHeaders(body)
	if err != nil {
		return err
	}
	m := DoViewChange{Replica: w.replica, View: View(w.view), LogView: View(w.a), Op: Op(w.op),
		Commit: Op(w.commit), Present: w.b, RecoveredOp: Op(w.c), Missing: Op(w.client), Headers: headers}
	switch {
	case m.Missing != 0 && (len(headers) == 0 || m.Missing >= headers[0].Op):
		return invalid("do_view_change missing op %d, not below its window", m.Missing)
	case m.View == 0 || m.LogView >= m.View:
		return invalid("do_view_change for view %d with log view %d", m.View, m.LogView)
	case (len(headers) == 0) != (m.Op == 0):
		// Commit may exceed Op: a lagging backup can know ops committed that it lacks.
		return invalid("do_view_change at op %d with %d headers", m.Op, len(headers))
	case len(headers) < 64 && m.Present>>len(headers) != 0:
		return invalid("do_view_change present bits beyond its headers")
	}
	d.DoViewChange = m
	assert(len(d.DoViewChange.Headers) == int(w.count)) // the scratch holds this body's headers
	return chained(headers, m.Op)
}

func (d *Decoder) startView(body []byte) error {
	w := &d.w
	assert(w.command == CommandStartView)
	headers, err := d.decodeHeaders(body)
	if err != nil {
		return err
	}
	m := StartView{Replica: w.replica, View: View(w.view), Op: Op(w.op), Commit: Op(w.commit),
		Nonce: w.a, Headers: headers}
	switch {
	case uint64(m.Replica) != uint64(m.View)%uint64(d.replicas):
		return invalid("start_view of view %d from replica %d, not its primary", m.View, m.Replica)
	case m.Commit > m.Op || (len(headers) == 0) != (m.Op == 0):
		return invalid("start_view with op %d, commit %d, %d headers", m.Op, m.Commit, len(headers))
	}
	d.StartView = m
	assert(len(d.StartView.Headers) == int(w.count))
	return chained(headers, m.Op)
}

func (d *Decoder) recovery() error {
	w := &d.w
	assert(w.command == CommandRecovery)
	d.Recovery = Recovery{Replica: w.replica, Nonce: w.a}
	if w.a == 0 {
		return invalid("recovery without a nonce")
	}
	return nil
}

func (d *Decoder) recoveryResponse(body []byte) error {
	w := &d.w
	assert(w.command == CommandRecoveryResponse)
	headers, err := d.decodeHeaders(body)
	if err != nil {
		return err
	}
	m := RecoveryResponse{Replica: w.replica, View: View(w.view), Nonce: w.a, Op: Op(w.op),
		Commit: Op(w.commit), Headers: headers}
	primary := uint64(m.Replica) == uint64(m.View)%uint64(d.replicas)
	switch {
	case m.Nonce == 0:
		return invalid("recovery_response without a nonce")
	case !primary && (len(headers) != 0 || m.Op != 0 || m.Commit != 0):
		return invalid("recovery_response with a log from a backup")
	case primary && ((len(headers) == 0) != (m.Op == 0) || m.Commit > m.Op):
		return invalid("recovery_response from the primary with op %d commit %d, %d headers", m.Op, m.Commit, len(headers))
	}
	d.RecoveryResponse = m
	assert(len(d.RecoveryResponse.Headers) == int(w.count))
	if !primary {
		return nil
	}
	return chained(headers, m.Op)
}

func (d *Decoder) requestPrepare() error {
	w := &d.w
	assert(w.command == CommandRequestPrepare)
	d.RequestPrepare = RequestPrepare{Replica: w.replica, View: View(w.view), Op: Op(w.op), Checksum: w.context}
	if w.op == 0 || w.context.IsZero() {
		return invalid("request_prepare of op %d checksum %v", w.op, w.context)
	}
	return nil
}

func (d *Decoder) requestHeaders() error {
	w := &d.w
	assert(w.command == CommandRequestHeaders)
	d.RequestHeaders = RequestHeaders{Replica: w.replica, View: View(w.view), OpMin: Op(w.commit), OpMax: Op(w.op)}
	if w.commit == 0 || w.commit > w.op || w.op-w.commit >= HeadersMax {
		return invalid("request_headers of ops %d to %d", w.commit, w.op)
	}
	return nil
}

func (d *Decoder) headersMessage(body []byte) error {
	w := &d.w
	assert(w.command == CommandHeaders)
	headers, err := d.decodeHeaders(body)
	if err != nil {
		return err
	}
	for i := 1; i < len(headers); i++ {
		if headers[i].Op <= headers[i-1].Op {
			return invalid("headers out of order")
		}
	}
	d.Headers = Headers{Replica: w.replica, View: View(w.view), Headers: headers}
	assert(len(d.Headers.Headers) == int(w.count))
	if len(headers) == 0 {
		return invalid("headers message without headers")
	}
	return nil
}

func (d *Decoder) eviction() error {
	w := &d.w
	assert(w.command == CommandEviction)
	d.Eviction = Eviction{Replica: w.replica, View: View(w.view), Client: ClientID(w.client), Session: Session(w.a)}
	if w.client == 0 {
		return invalid("eviction of client 0")
	}
	return nil
}

func (d *Decoder) pingPong() error {
	w := &d.w
	if w.command == CommandPing {
		d.Ping = Ping{Replica: w.replica, View: View(w.view), Monotonic: int64(w.a), Checkpoint: Op(w.op),
			CheckpointChecksum: w.context, Oldest: Op(w.commit)}
		if (d.Ping.Checkpoint == 0) != d.Ping.CheckpointChecksum.IsZero() {
			return invalid("ping with checkpoint %d and checksum %v", d.Ping.Checkpoint, d.Ping.CheckpointChecksum)
		}
		return nil
	}
	assert(w.command == CommandPong)
	d.Pong = Pong{Replica: w.replica, View: View(w.view), PingMonotonic: int64(w.a), Realtime: int64(w.b)}
	return nil
}

func (d *Decoder) requestCheckpoint() error {
	w := &d.w
	assert(w.command == CommandRequestCheckpoint)
	d.RequestCheckpoint = RequestCheckpoint{Replica: w.replica, View: View(w.view), Op: Op(w.op),
		Checksum: w.context, Chunk: w.request}
	switch m := &d.RequestCheckpoint; {
	case m.Op == 0:
		return invalid("request of the checkpoint of op 0")
	case m.Checksum.IsZero() && m.Chunk != 0:
		return invalid("request of chunk %d of a checkpoint without its identity", m.Chunk)
	}
	return nil
}

// checkpointID is the identity a checkpoint message names, with its rules.
func (d *Decoder) checkpointID() (CheckpointID, error) {
	w := &d.w
	id := CheckpointID{Op: Op(w.op), Size: w.a, Checksum: w.context}
	if id.Op == 0 || id.Size < checkpointHeadSize || id.Checksum.IsZero() {
		return CheckpointID{}, invalid("checkpoint of op %d, %d bytes, %v", id.Op, id.Size, id.Checksum)
	}
	return id, nil
}

func (d *Decoder) checkpointManifest(body []byte) error {
	w := &d.w
	assert(w.command == CommandCheckpointManifest)
	id, err := d.checkpointID()
	if err != nil {
		return err
	}
	count := int(w.count)
	if count == 0 || len(body) != HeaderSize+16*count || uint64(count) > id.Size {
		return invalid("manifest of %d chunks in a body of %d bytes", count, len(body))
	}
	var hw wire
	if err := hw.parse(body[:HeaderSize], d.cluster); err != nil {
		return err
	}
	if hw.command != CommandPrepare {
		return invalid("a manifest with a %v header", hw.command)
	}
	if err := hw.unused(prepareUses); err != nil {
		return err
	}
	var h PrepareHeader
	h.fromWire(&hw)
	if err := validPrepareHeader(&h, nil, d.replicas); err != nil {
		return err
	}
	if h.Op != id.Op {
		return invalid("manifest of op %d with the header of op %d", id.Op, h.Op)
	}
	sums := d.sums[:0]
	for i := 0; i < count; i++ {
		sums = append(sums, getChecksum(body[HeaderSize+16*i:]))
	}
	d.sums = sums
	if checksumOfSums(sums) != id.Checksum {
		return invalid("manifest whose chunks do not make up checkpoint %v", id.Checksum)
	}
	d.CheckpointManifest = CheckpointManifest{Replica: w.replica, View: View(w.view), ID: id, Header: h, Sums: sums}
	return nil
}

func (d *Decoder) checkpointChunk(body []byte) error {
	w := &d.w
	assert(w.command == CommandCheckpointChunk)
	id, err := d.checkpointID()
	if err != nil {
		return err
	}
	if len(body) == 0 || uint64(w.request)*uint64(len(body)) >= id.Size {
		return invalid("chunk %d of %d bytes of a checkpoint of %d", w.request, len(body), id.Size)
	}
	d.CheckpointChunk = CheckpointChunk{Replica: w.replica, View: View(w.view), ID: id, Chunk: w.request, Body: body}
	return nil
}
