package lincheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The log formats (Jepsen etcd and EDN) share one shape: a process invokes an operation on
// one line and hears back on a later line with :ok, :fail or :info. Neither carries a clock,
// so the line number is the time: a line that comes later happened later.

// logBuilder pairs invocations with completions, per process.
type logBuilder struct {
	file string
	ops  []Operation
	// dropped marks operations that are known not to have happened (:fail).
	dropped []bool
	open    map[int]openCall
}

type openCall struct {
	line  int
	index int // into ops
}

// completion is how an invocation ended.
type completion int

const (
	completedOK   completion = iota // the client heard the result
	completedFail                   // definitely did not take effect
	completedInfo                   // unknown: may or may not have taken effect
)

func newLogBuilder(file string) *logBuilder {
	return &logBuilder{file: file, open: make(map[int]openCall)}
}

// invoke records a call; a process has at most one call open, as in Jepsen.
func (b *logBuilder) invoke(line, proc int, in KVInput) error {
	if prev, ok := b.open[proc]; ok {
		return parseErrorf(b.file, line, "process %d invokes again while its call from line %d is still open", proc, prev.line)
	}
	b.open[proc] = openCall{line: line, index: len(b.ops)}
	b.ops = append(b.ops, Operation{Client: proc, Invoke: int64(line), Input: in})
	b.dropped = append(b.dropped, false)
	return nil
}

// pending returns the open call of proc, checking that the completion names the same
// operation; a completion that matches no invocation is malformed.
func (b *logBuilder) pending(line, proc int, op KVOp) (*Operation, error) {
	call, ok := b.open[proc]
	if !ok {
		return nil, parseErrorf(b.file, line, "process %d completes a %s it never invoked", proc, op)
	}
	o := &b.ops[call.index]
	if o.Input.Op != op {
		return nil, parseErrorf(b.file, line, "process %d completes a %s but invoked a %s at line %d", proc, op, o.Input.Op, call.line)
	}
	return o, nil
}

// complete ends the open call of proc.
func (b *logBuilder) complete(line, proc int, how completion, out KVOutput) {
	call := b.open[proc]
	delete(b.open, proc)
	o := &b.ops[call.index]
	switch how {
	case completedOK:
		o.Response, o.Output = int64(line), out
	case completedFail:
		b.dropped[call.index] = true
	case completedInfo:
		o.Pending = true
	}
}

// finish turns calls still open at the end into pending operations and drops failed ones.
func (b *logBuilder) finish() []Operation {
	for _, call := range b.open {
		b.ops[call.index].Pending = true
	}
	ops := make([]Operation, 0, len(b.ops))
	for i, o := range b.ops {
		if !b.dropped[i] {
			ops = append(ops, o)
		}
	}
	return ops
}

var jepsenLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\S+)\s+:(\S+)\s+(.*)$`)

var jepsenOps = map[string]KVOp{"read": OpGet, "write": OpPut, "cas": OpCAS}

var jepsenTypes = map[string]completion{"ok": completedOK, "fail": completedFail, "info": completedInfo}

// parseJepsenEtcd reads a Jepsen etcd register log. :fail on a read or write means it did
// not happen, so it is dropped; :fail on a cas is etcd's answer that the comparison failed,
// so it is a completed cas that did not swap (this is how the logs' verdicts were
// established); :info, and a call still open at the end, is pending.
func parseJepsenEtcd(name string, data []byte) (*History, error) {
	b := newLogBuilder(name)
	err := splitLines(name, data, func(line int, text string) error {
		m := jepsenLine.FindStringSubmatch(text)
		if m == nil {
			return parseErrorf(name, line, "not a Jepsen etcd log line: %s", clip(text))
		}
		proc, err := strconv.Atoi(m[1])
		if err != nil {
			return parseErrorf(name, line, "bad process number %q", m[1])
		}
		op, ok := jepsenOps[m[3]]
		if !ok {
			return parseErrorf(name, line, "unknown operation %s (want :read, :write or :cas)", clip(":"+m[3]))
		}
		value := strings.TrimSpace(m[4])
		if m[2] == "invoke" {
			in, err := parseRegisterCall(op, value)
			if err != nil {
				return parseErrorf(name, line, "%s", err.Error())
			}
			return b.invoke(line, proc, in)
		}
		how, ok := jepsenTypes[m[2]]
		if !ok {
			return parseErrorf(name, line, "unknown type %s (want :invoke, :ok, :fail or :info)", clip(":"+m[2]))
		}
		return b.jepsenComplete(line, proc, op, how, value)
	})
	if err != nil {
		return nil, err
	}
	return &History{Format: FormatJepsenEtcd, Model: ModelRegister, TimeUnit: "line", Operations: b.finish()}, nil
}

// jepsenComplete checks a completion line against its invocation and records it.
func (b *logBuilder) jepsenComplete(line, proc int, op KVOp, how completion, value string) error {
	o, err := b.pending(line, proc, op)
	if err != nil {
		return err
	}
	var out KVOutput
	switch {
	case op == OpGet && how == completedOK:
		v, err := parseRegisterValue(value, true)
		if err != nil {
			return parseErrorf(b.file, line, "read result: %s", err.Error())
		}
		out.Value = v
	case how != completedOK && strings.HasPrefix(value, ":"):
		// A reason such as :timed-out instead of the arguments.
	case op != OpGet:
		in, err := parseRegisterCall(op, value)
		if err != nil || in != o.Input {
			return parseErrorf(b.file, line, "%s completes with %s, which is not what it invoked", op, clip(value))
		}
		if op == OpCAS && how != completedInfo {
			out.Swapped = how == completedOK
			how = completedOK
		}
	}
	b.complete(line, proc, how, out)
	return nil
}

// parseRegisterCall parses the argument of an invocation: nil for a read, an integer for a
// write, [from to] for a cas.
func parseRegisterCall(op KVOp, value string) (KVInput, error) {
	switch op {
	case OpGet:
		if value != "nil" {
			return KVInput{}, fmt.Errorf("a read is invoked with nil, not %s", clip(value))
		}
		return KVInput{Op: OpGet}, nil
	case OpPut:
		v, err := parseRegisterValue(value, false)
		return KVInput{Op: OpPut, Value: v}, err
	}
	inner, ok := strings.CutPrefix(value, "[")
	inner, ok2 := strings.CutSuffix(inner, "]")
	fields := strings.Fields(inner)
	if !ok || !ok2 || len(fields) != 2 {
		return KVInput{}, fmt.Errorf("a cas is invoked with [from to], not %s", clip(value))
	}
	from, err := parseRegisterValue(fields[0], false)
	if err != nil {
		return KVInput{}, err
	}
	to, err := parseRegisterValue(fields[1], false)
	return KVInput{Op: OpCAS, Expected: from, Value: to}, err
}

// parseRegisterValue parses an integer (or nil, where allowed) into the key-value shape of
// register values: a canonical decimal string, "" for nil.
func parseRegisterValue(s string, nilOK bool) (string, error) {
	if s == "nil" && nilOK {
		return "", nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("want an integer, not %s", clip(s))
	}
	return strconv.FormatInt(n, 10), nil
}

// clip shortens text quoted in an error message, so one bad line cannot flood the terminal.
func clip(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
