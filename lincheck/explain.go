package lincheck

import (
	"fmt"
	"strconv"
)

// describer renders operations for explanations, in the words of the history's own format:
// vsrsim histories have clients and ticks, the logs have processes and lines, and register
// histories show integers and nil rather than strings.
type describer struct {
	model    ModelKind
	timeUnit string
}

func newDescriber(h *History, model ModelKind) describer {
	unit := h.TimeUnit
	if unit == "" {
		unit = "tick"
	}
	return describer{model: model, timeUnit: unit}
}

// op renders one operation on one line: who, what, answer, when, and the op number if known.
func (d describer) op(o Operation) string {
	who := "client"
	if d.timeUnit == "line" {
		who = "process"
	}
	when := fmt.Sprintf("%ss %d-%d", d.timeUnit, o.Invoke, o.Response)
	if o.Pending {
		when = fmt.Sprintf("%s %d, never answered", d.timeUnit, o.Invoke)
	}
	s := fmt.Sprintf("%s %d: %s, %s", who, o.Client, d.call(o), when)
	if o.OpNumber != 0 {
		s += fmt.Sprintf(", op %d", o.OpNumber)
	}
	return s
}

func (d describer) call(o Operation) string {
	if d.model == ModelRegister {
		in := registerInput(o.Input)
		if o.Pending {
			return describeRegisterOperation(in, nil)
		}
		return describeRegisterOperation(in, registerOutput(o.Input.Op, o.Output))
	}
	in := o.Input
	in.Value, in.Expected = shortValue(in.Value), shortValue(in.Expected)
	if o.Pending {
		return DescribeInput(in) + " -> ?"
	}
	out := o.Output
	out.Value = shortValue(out.Value)
	return DescribeCall(in, out)
}

// value renders a value of the key, or of the register.
func (d describer) value(v string) string {
	if d.model == ModelRegister {
		if v == "" {
			return "nil"
		}
		return v
	}
	return strconv.Quote(shortValue(v))
}

// shortValue keeps long values (an append-only key's value grows with every append)
// readable: the head and the tail, and the length.
func shortValue(v string) string {
	const keep = 24
	if len(v) <= 2*keep+8 {
		return v
	}
	return fmt.Sprintf("%s...(%d bytes)...%s", v[:keep], len(v), v[len(v)-keep:])
}

// registerInput converts a key-value request of a register history (validated by
// checkRegisterHistory) to the register model's input.
func registerInput(in KVInput) RegisterInput {
	value, _ := strconv.ParseInt(in.Value, 10, 64)
	expected, _ := strconv.ParseInt(in.Expected, 10, 64)
	return RegisterInput{Op: in.Op, Value: value, Expected: expected}
}

func registerOutput(op KVOp, out KVOutput) RegisterOutput {
	if op == OpGet && out.Value != "" {
		v, _ := strconv.ParseInt(out.Value, 10, 64)
		return RegisterOutput{Value: v, Present: true}
	}
	return RegisterOutput{Swapped: out.Swapped}
}

// checkRegisterHistory reports why a history cannot be read as one integer register, if
// it cannot: the register has one key, no append, and integer values (nil reads as "").
func checkRegisterHistory(h *History) error {
	for i, o := range h.Operations {
		in := o.Input
		bad := ""
		switch {
		case in.Key != h.Operations[0].Input.Key:
			bad = fmt.Sprintf("uses two keys, %q and %q", h.Operations[0].Input.Key, in.Key)
		case in.Op == OpAppend:
			bad = "has an append"
		case in.Op != OpGet && !isInt(in.Value):
			bad = fmt.Sprintf("writes %q, not an integer", in.Value)
		case in.Op == OpCAS && !isInt(in.Expected):
			bad = fmt.Sprintf("compares with %q, not an integer", in.Expected)
		case in.Op == OpGet && !o.Pending && o.Output.Value != "" && !isInt(o.Output.Value):
			bad = fmt.Sprintf("reads %q, not an integer", o.Output.Value)
		}
		if bad != "" {
			return fmt.Errorf("model register does not fit: operation %d %s", i+1, bad)
		}
	}
	return nil
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
