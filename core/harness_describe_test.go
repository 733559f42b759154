package core

import (
	"fmt"
	"strings"
)

// How the harness renders messages: one stable line each, with the key-value bodies and
// batches decoded, so scenario scripts read like the protocol.

// describe renders a message between two nodes.
func (h *harness) describe(source, target int, message []byte) string {
	return h.name(source) + "->" + h.name(target) + " " + harnessDescribe(h.decoder, message,
		h.clientName)
}

// harnessChecksum is a checksum's first four bytes: enough to tell prepares apart.
func harnessChecksum(c Checksum) string { return fmt.Sprintf("#%08x", c.Hi>>32) }

// harnessDescribe renders one message on one line. d decodes it, and name names client
// identities; the line names every field a reader of a trace needs, and no field that
// changes from run to run.
func harnessDescribe(d *Decoder, message []byte, name func(ClientID) string) string {
	command, err := d.Decode(message)
	if err != nil {
		return fmt.Sprintf("invalid (%v)", err)
	}
	switch command {
	case CommandRequest:
		return "request " + harnessDescribeRequest(&d.Request, name)
	case CommandPrepare:
		return harnessDescribePrepare(&d.Prepare, name)
	case CommandPrepareOk:
		m := &d.PrepareOk
		return fmt.Sprintf("prepare_ok v%d op%d %s", m.View, m.Op, harnessChecksum(m.Prepare))
	case CommandReply:
		return harnessDescribeReply(&d.Reply, name)
	case CommandCommit:
		m := &d.Commit
		return fmt.Sprintf("commit v%d commit%d", m.View, m.Commit)
	case CommandDoViewChange:
		return harnessDescribeDoViewChange(&d.DoViewChange)
	case CommandStartView:
		return harnessDescribeStartView(&d.StartView)
	}
	return harnessDescribeRepair(d, command, name)
}

func harnessDescribeRepair(d *Decoder, command Command, name func(ClientID) string) string {
	switch command {
	case CommandStartViewChange:
		return fmt.Sprintf("start_view_change v%d", d.StartViewChange.View)
	case CommandRequestStartView:
		return fmt.Sprintf("request_start_view v%d", d.RequestStartView.View)
	case CommandRecovery:
		return fmt.Sprintf("recovery nonce %04x", d.Recovery.Nonce&0xffff)
	case CommandRecoveryResponse:
		m := &d.RecoveryResponse
		s := fmt.Sprintf("recovery_response v%d nonce %04x", m.View, m.Nonce&0xffff)
		if len(m.Headers) > 0 || m.Op > 0 {
			s += fmt.Sprintf(" op%d commit%d%s", m.Op, m.Commit, harnessDescribeHeaders(m.Headers))
		}
		return s
	case CommandRequestPrepare:
		m := &d.RequestPrepare
		return fmt.Sprintf("request_prepare v%d op%d %s", m.View, m.Op, harnessChecksum(m.Checksum))
	case CommandRequestHeaders:
		m := &d.RequestHeaders
		return fmt.Sprintf("request_headers v%d op%d..op%d", m.View, m.OpMin, m.OpMax)
	case CommandHeaders:
		return fmt.Sprintf("headers v%d%s", d.Headers.View,
			harnessDescribeHeaders(d.Headers.Headers))
	case CommandEviction:
		m := &d.Eviction
		return fmt.Sprintf("eviction v%d %s s%d", m.View, name(m.Client), m.Session)
	case CommandPing:
		return fmt.Sprintf("ping v%d", d.Ping.View)
	case CommandPong:
		return fmt.Sprintf("pong v%d", d.Pong.View)
	}
	return command.String()
}

func harnessDescribeRequest(m *Request, name func(ClientID) string) string {
	if m.Operation == OperationRegister {
		return name(m.Client) + " register"
	}
	return fmt.Sprintf("%s s%d n%d %s", name(m.Client), m.Session, m.Request,
		harnessDescribeInput(m.Body))
}

func harnessDescribeInput(body []byte) string {
	in, err := DecodeKV(body)
	if err != nil {
		return fmt.Sprintf("(%d bytes)", len(body))
	}
	switch in.Op {
	case KVGet:
		return "get " + in.Key
	case KVCas:
		return fmt.Sprintf("cas %s %s %s", in.Key, in.Expected, in.Value)
	}
	return fmt.Sprintf("%v %s %s", in.Op, in.Key, in.Value)
}

func harnessDescribeOutput(output []byte) string {
	out, err := DecodeKVOutput(output)
	switch {
	case err != nil:
		return fmt.Sprintf("(%d bytes)", len(output))
	case out.Invalid:
		return "invalid"
	case out.Swapped:
		return "swapped"
	}
	return fmt.Sprintf("ok %q", out.Value)
}

func harnessDescribePrepare(m *Prepare, name func(ClientID) string) string {
	var requests []string
	it := newBatchIterator(m.Body, m.Requests)
	var r Request
	for it.Next(&r) {
		requests = append(requests, harnessDescribeRequest(&r, name))
	}
	return fmt.Sprintf("prepare v%d op%d commit%d %s [%s]", m.View, m.Op, m.Commit,
		harnessChecksum(m.Checksum), strings.Join(requests, "; "))
}

func harnessDescribeReply(m *Reply, name func(ClientID) string) string {
	if m.Operation == OperationRegister {
		return fmt.Sprintf("reply v%d op%d %s register s%d", m.View, m.Op, name(m.Client),
			m.Session)
	}
	return fmt.Sprintf("reply v%d op%d %s s%d n%d %s", m.View, m.Op, name(m.Client), m.Session,
		m.Request,
		harnessDescribeOutput(m.Body))
}

func harnessDescribeDoViewChange(m *DoViewChange) string {
	s := fmt.Sprintf("do_view_change v%d log_view %d op%d commit%d", m.View, m.LogView, m.Op,
		m.Commit)
	if m.RecoveredOp > 0 {
		s += fmt.Sprintf(" recovered op%d", m.RecoveredOp)
	}
	s += harnessDescribeHeaders(m.Headers)
	var missing []Op
	for i := range m.Headers {
		if m.Present&(1<<i) == 0 {
			missing = append(missing, m.Headers[i].Op)
		}
	}
	if len(missing) > 0 {
		s += " missing " + harnessOps(missing)
	}
	return s
}

func harnessDescribeStartView(m *StartView) string {
	s := fmt.Sprintf("start_view v%d op%d commit%d", m.View, m.Op, m.Commit)
	if m.Nonce != 0 {
		s += fmt.Sprintf(" nonce %04x", m.Nonce&0xffff)
	}
	return s + harnessDescribeHeaders(m.Headers)
}

// harnessDescribeHeaders names the ops of a list of headers and the checksum of the last.
func harnessDescribeHeaders(headers []PrepareHeader) string {
	if len(headers) == 0 {
		return " headers none"
	}
	ops := make([]Op, len(headers))
	for i := range headers {
		ops[i] = headers[i].Op
	}
	last := &headers[len(headers)-1]
	return fmt.Sprintf(" headers %s (op%d %s)", harnessOps(ops), last.Op,
		harnessChecksum(last.Checksum))
}

// harnessOps renders ops compactly: "op1..op3,op5".
func harnessOps(ops []Op) string {
	var parts []string
	for i := 0; i < len(ops); {
		j := i
		for j+1 < len(ops) && ops[j+1] == ops[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprintf("op%d", ops[i]))
		} else {
			parts = append(parts, fmt.Sprintf("op%d..op%d", ops[i], ops[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Helpers for tests written in Go (paper_test.go, quick_test.go).
