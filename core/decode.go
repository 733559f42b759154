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
}

// HeadersMax bounds the headers in one message body.
const HeadersMax = 64

// NewDecoder returns a decoder for a cluster of the given size.
func NewDecoder(cluster uint64, replicas int) *Decoder {
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

func (d *Decoder) decodeCommand(body []byte) error {
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
	}
	return ErrCommand
}

func (d *Decoder) request(body []byte) error {
	w := &d.w
	if err := w.unused(useClient | useA | useRequest | useOperation | useView | useBody); err != nil {
		return err
	}
	d.Request = Request{Client: ClientID(w.client), Session: Session(w.a),
		Request: RequestNumber(w.request), Operation: Operation(w.operation), View: View(w.view),
		Body: body}
	return validRequest(&d.Request)
}

func (d *Decoder) prepare(body []byte) error {
	w := &d.w
	if err := w.unused(useContext | useReplica | useView | useOp | useCommit | useA | useCount | useBody); err != nil {
		return err
	}
	d.Prepare.PrepareHeader.fromWire(w)
	d.Prepare.Body = body
	return d.validPrepareHeader(&d.Prepare.PrepareHeader, body)
}

func (d *Decoder) validPrepareHeader(h *PrepareHeader, body []byte) error {
	switch {
	case h.Op == 0:
		return invalid("prepare of the root op")
	case h.Commit >= h.Op:
		return invalid("prepare of op %d claims commit %d", h.Op, h.Commit)
	case h.Requests == 0:
		return invalid("prepare of op %d without requests", h.Op)
	case uint64(h.Replica) != uint64(h.View)%uint64(d.replicas):
		return invalid("prepare of view %d from replica %d, not its primary", h.View, h.Replica)
	}
	if body != nil {
		return validateBatch(body, h.Requests)
	}
	return nil
}

func (d *Decoder) prepareOk() error {
	w := &d.w
	if err := w.unused(useContext | useReplica | useView | useOp | useCommit); err != nil {
		return err
	}
	d.PrepareOk = PrepareOk{Replica: w.replica, View: View(w.view), Op: Op(w.op),
		Commit: Op(w.commit), Prepare: w.context}
	if d.PrepareOk.Op == 0 {
		return invalid("prepare_ok of the root op")
	}
	return nil
}

func (d *Decoder) reply(body []byte) error {
	w := &d.w
	if err := w.unused(useReplica | useView | useOp | useCommit | useClient | useA | useRequest | useOperation | useBody); err != nil {
		return err
	}
	d.Reply = Reply{Replica: w.replica, View: View(w.view), Op: Op(w.op), Commit: Op(w.commit),
		Client: ClientID(w.client), Session: Session(w.a), Request: RequestNumber(w.request),
		Operation: Operation(w.operation), Body: body}
	m := &d.Reply
	if m.Client == 0 || m.Op == 0 || m.Commit < m.Op || m.Session == 0 {
		return invalid("reply to client %d at op %d commit %d session %d", m.Client, m.Op, m.Commit, m.Session)
	}
	return nil
}

func (d *Decoder) commit() error {
	w := &d.w
	if err := w.unused(useContext | useReplica | useView | useCommit); err != nil {
		return err
	}
	d.Commit = Commit{Replica: w.replica, View: View(w.view), Commit: Op(w.commit), CommitChecksum: w.context}
	return nil
}

func (d *Decoder) viewOnly() error {
	w := &d.w
	if err := w.unused(useReplica | useView); err != nil {
		return err
	}
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
