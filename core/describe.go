package core

import "fmt"

// Describe renders a message as one stable line: its command and the fields that matter,
// for traces, tests and the command line alike. Bytes that do not decode say why.
func (d *Decoder) Describe(data []byte) string {
	command, err := d.Decode(data)
	if err != nil {
		return fmt.Sprintf("invalid (%v)", err)
	}
	// Each command the decoder accepts has its case below.
	assert(command != CommandReserved)
	assert(command < commandCount)
	switch command {
	case CommandRequest:
		m := &d.Request
		return fmt.Sprintf("request c%x s%d r%d %s %dB", uint64(m.Client)>>16, m.Session, m.Request, operationName(m.Operation), len(m.Body))
	case CommandPrepare:
		return "prepare " + DescribeHeader(&d.Prepare.PrepareHeader)
	case CommandPrepareOk:
		m := &d.PrepareOk
		return fmt.Sprintf("prepare_ok r%d v%d op%d %v", m.Replica, m.View, m.Op, m.Prepare)
	case CommandReply:
		m := &d.Reply
		return fmt.Sprintf("reply r%d v%d c%x s%d r%d op%d", m.Replica, m.View, uint64(m.Client)>>16, m.Session, m.Request, m.Op)
	case CommandCommit:
		m := &d.Commit
		return fmt.Sprintf("commit r%d v%d commit%d %v", m.Replica, m.View, m.Commit, m.CommitChecksum)
	case CommandStartViewChange:
		return fmt.Sprintf("start_view_change r%d v%d", d.StartViewChange.Replica, d.StartViewChange.View)
	case CommandDoViewChange:
		m := &d.DoViewChange
		return fmt.Sprintf("do_view_change r%d v%d log_view%d op%d commit%d present%b recovered%d headers%s",
			m.Replica, m.View, m.LogView, m.Op, m.Commit, m.Present, m.RecoveredOp, describeRange(m.Headers))
	case CommandStartView:
		m := &d.StartView
		return fmt.Sprintf("start_view r%d v%d op%d commit%d headers%s", m.Replica, m.View, m.Op, m.Commit, describeRange(m.Headers))
	case CommandRequestStartView:
		return fmt.Sprintf("request_start_view r%d v%d", d.RequestStartView.Replica, d.RequestStartView.View)
	case CommandRecovery:
		return fmt.Sprintf("recovery r%d nonce%x", d.Recovery.Replica, d.Recovery.Nonce)
	case CommandRecoveryResponse:
		m := &d.RecoveryResponse
		return fmt.Sprintf("recovery_response r%d v%d op%d commit%d headers%s", m.Replica, m.View, m.Op, m.Commit, describeRange(m.Headers))
	case CommandRequestPrepare:
		m := &d.RequestPrepare
		return fmt.Sprintf("request_prepare r%d v%d op%d %v", m.Replica, m.View, m.Op, m.Checksum)
	case CommandRequestHeaders:
		m := &d.RequestHeaders
		return fmt.Sprintf("request_headers r%d v%d ops%d-%d", m.Replica, m.View, m.OpMin, m.OpMax)
	case CommandHeaders:
		return fmt.Sprintf("headers r%d v%d%s", d.Headers.Replica, d.Headers.View, describeRange(d.Headers.Headers))
	case CommandEviction:
		m := &d.Eviction
		return fmt.Sprintf("eviction r%d v%d c%x s%d", m.Replica, m.View, uint64(m.Client)>>16, m.Session)
	case CommandPing:
		return fmt.Sprintf("ping r%d v%d checkpoint%d oldest%d", d.Ping.Replica, d.Ping.View, d.Ping.Checkpoint, d.Ping.Oldest)
	case CommandRequestCheckpoint:
		m := &d.RequestCheckpoint
		return fmt.Sprintf("request_checkpoint r%d v%d op%d %v chunk%d", m.Replica, m.View, m.Op, m.Checksum, m.Chunk)
	case CommandCheckpointManifest:
		m := &d.CheckpointManifest
		return fmt.Sprintf("checkpoint_manifest r%d v%d op%d %dB %v chunks%d", m.Replica, m.View, m.ID.Op, m.ID.Size,
			m.ID.Checksum, len(m.Sums))
	case CommandCheckpointChunk:
		m := &d.CheckpointChunk
		return fmt.Sprintf("checkpoint_chunk r%d v%d op%d %v chunk%d %dB", m.Replica, m.View, m.ID.Op, m.ID.Checksum,
			m.Chunk, len(m.Body))
	case CommandPong:
		return fmt.Sprintf("pong r%d v%d", d.Pong.Replica, d.Pong.View)
	}
	return command.String()
}

// DescribeHeader renders a prepare header.
func DescribeHeader(h *PrepareHeader) string {
	return fmt.Sprintf("v%d op%d commit%d %v parent %v requests%d", h.View, h.Op, h.Commit, h.Checksum, h.Parent, h.Requests)
}

func describeRange(headers []PrepareHeader) string {
	if len(headers) == 0 {
		return "[]"
	}
	// Decoded bodies of headers ascend (chained, or in order): the range is first to last.
	assert(headers[0].Op <= headers[len(headers)-1].Op)
	return fmt.Sprintf("[op%d-%d]", headers[0].Op, headers[len(headers)-1].Op)
}

func operationName(o Operation) string {
	switch o {
	case OperationRegister:
		return "register"
	case OperationApply:
		return "apply"
	}
	return fmt.Sprintf("operation%d", o)
}
