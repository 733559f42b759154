package core

// Decoder turns bytes into typed messages and rejects anything malformed: a bad checksum,
// a wrong size, an unknown command, a field a command does not use set, or fields that
// break the command's invariants. It never panics on any input (FuzzDecode).
//
// It reuses its message structs: after Decode returns a command, the struct of that
// command holds the message until the next Decode. Bodies alias the input bytes.
type Decoder struct {
	cluster  uint64
	replicas int
	w        wire
	headers  []PrepareHeader

	Request          Request
	Prepare          Prepare
	PrepareOk        PrepareOk
	Reply            Reply
	Commit           Commit
	StartViewChange  StartViewChange
	DoViewChange     DoViewChange
	StartView        StartView
	RequestStartView RequestStartView
	Recovery         Recovery
	RecoveryResponse RecoveryResponse
	RequestPrepare   RequestPrepare
	RequestHeaders   RequestHeaders
	Headers          Headers
	Eviction         Eviction
	Ping             Ping
	Pong             Pong

	RequestCheckpoint  RequestCheckpoint
	CheckpointManifest CheckpointManifest
	CheckpointChunk    CheckpointChunk
	sums               []Checksum // a manifest's, reused
}

// HeadersMax bounds the headers in one message body.
const HeadersMax = 64

// NewDecoder returns a decoder for a cluster of the given size.
func NewDecoder(cluster uint64, replicas int) *Decoder {
	// The size of a validated config: the decoder tells each view's primary by it.
	assert(replicas >= 1)
	assert(replicas <= ReplicasMax)
	return &Decoder{cluster: cluster, replicas: replicas, headers: make([]PrepareHeader, 0, HeadersMax)}
}

// Decode verifies and parses one message.
func (d *Decoder) Decode(data []byte) (Command, error) {
	w := &d.w
	if err := w.get(data, d.cluster); err != nil {
		return 0, err
	}
	body := data[HeaderSize:]
	if err := w.verifyBody(body); err != nil {
		return 0, err
	}
	if !w.command.fromClient() && int(w.replica) >= d.replicas {
		return 0, invalid("replica %d of %d", w.replica, d.replicas)
	}
	if err := d.decodeCommand(body); err != nil {
		return 0, err
	}
	return w.command, nil
}

// decodeCommand checks the fields the command uses, then the command's own rules.
func (d *Decoder) decodeCommand(body []byte) error {
	// get has rejected every command but these: each has its case below.
	assert(d.w.command != CommandReserved)
	assert(d.w.command < commandCount)
	if err := d.w.unused(commandUses[d.w.command]); err != nil {
		return err
	}
	switch d.w.command {
	case CommandRequest:
		return d.request(body)
	case CommandPrepare:
		return d.prepare(body)
	case CommandPrepareOk:
		return d.prepareOk()
	case CommandReply:
		return d.reply(body)
	case CommandCommit:
		return d.commit()
	case CommandStartViewChange, CommandRequestStartView:
		return d.viewOnly()
	case CommandDoViewChange:
		return d.doViewChange(body)
	case CommandStartView:
		return d.startView(body)
	case CommandRecovery:
		return d.recovery()
	case CommandRecoveryResponse:
		return d.recoveryResponse(body)
	case CommandRequestPrepare:
		return d.requestPrepare()
	case CommandRequestHeaders:
		return d.requestHeaders()
	case CommandHeaders:
		return d.headersMessage(body)
	case CommandEviction:
		return d.eviction()
	case CommandPing, CommandPong:
		return d.pingPong()
	case CommandRequestCheckpoint:
		return d.requestCheckpoint()
	case CommandCheckpointManifest:
		return d.checkpointManifest(body)
	case CommandCheckpointChunk:
		return d.checkpointChunk(body)
	}
	return ErrCommand
}

func (d *Decoder) request(body []byte) error {
	w := &d.w
	assert(w.command == CommandRequest)
	d.Request = Request{Client: ClientID(w.client), Session: Session(w.a),
		Request: RequestNumber(w.request), Operation: Operation(w.operation), View: View(w.view),
		Body: body}
	// The body is the rest of the message, which the primary copies before it keeps it.
	assert(len(d.Request.Body) == int(w.size)-HeaderSize)
	return validRequest(&d.Request)
}

func (d *Decoder) prepare(body []byte) error {
	w := &d.w
	assert(w.command == CommandPrepare)
	d.Prepare.PrepareHeader.fromWire(w)
	d.Prepare.Body = body
	// The journal keeps the header beside the whole message: its Size is the message's.
	assert(int(d.Prepare.Size) == HeaderSize+len(body))
	return validPrepareHeader(&d.Prepare.PrepareHeader, body, d.replicas)
}

// validPrepareHeader is what a prepare's header (and its body, when given) must satisfy:
// checked by the decoder on arrival, asserted by a replica's encoder before it leaves.
func validPrepareHeader(h *PrepareHeader, body []byte, replicas int) error {
	// A validated cluster size, which tells each view's primary.
	assert(replicas >= 1)
	assert(replicas <= ReplicasMax)
	switch {
	case h.Op == 0:
		return invalid("prepare of the root op")
	case h.Commit >= h.Op:
		return invalid("prepare of op %d claims commit %d", h.Op, h.Commit)
	case h.Requests == 0:
		return invalid("prepare of op %d without requests", h.Op)
	case uint64(h.Replica) != uint64(h.View)%uint64(replicas):
		return invalid("prepare of view %d from replica %d, not its primary", h.View, h.Replica)
	}
	if body != nil {
		return validateBatch(body, h.Requests)
	}
	return nil
}

func (d *Decoder) prepareOk() error {
	w := &d.w
	assert(w.command == CommandPrepareOk)
	d.PrepareOk = PrepareOk{Replica: w.replica, View: View(w.view), Op: Op(w.op),
		Commit: Op(w.commit), Prepare: w.context}
	if d.PrepareOk.Op == 0 {
		return invalid("prepare_ok of the root op")
	}
	return nil
}

func (d *Decoder) reply(body []byte) error {
	w := &d.w
	assert(w.command == CommandReply)
	d.Reply = Reply{Replica: w.replica, View: View(w.view), Op: Op(w.op), Commit: Op(w.commit),
		Client: ClientID(w.client), Session: Session(w.a), Request: RequestNumber(w.request),
		Operation: Operation(w.operation), Body: body}
	m := &d.Reply
	assert(len(m.Body) == int(w.size)-HeaderSize)
	if m.Client == 0 || m.Op == 0 || m.Commit < m.Op || m.Session == 0 {
		return invalid("reply to client %d at op %d commit %d session %d", m.Client, m.Op, m.Commit, m.Session)
	}
	return nil
}

func (d *Decoder) commit() error {
	w := &d.w
	assert(w.command == CommandCommit)
	d.Commit = Commit{Replica: w.replica, View: View(w.view), Commit: Op(w.commit), CommitChecksum: w.context}
	return nil
}

func (d *Decoder) viewOnly() error {
	w := &d.w
	assert(w.command == CommandStartViewChange || w.command == CommandRequestStartView)
	if w.command == CommandStartViewChange {
		d.StartViewChange = StartViewChange{Replica: w.replica, View: View(w.view)}
	} else {
		d.RequestStartView = RequestStartView{Replica: w.replica, View: View(w.view)}
	}
	if w.view == 0 {
		return invalid("%v for view 0", w.command)
	}
	return nil
}
