package lincheck

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// KVOp names an operation of the key-value state machine.
type KVOp uint8

// The operations of the key-value state machine. The zero value is not an operation, so a
// forgotten field is caught rather than read as a get.
const (
	OpGet KVOp = iota + 1
	OpPut
	OpAppend
	OpCAS
)

var kvOpNames = map[KVOp]string{OpGet: "get", OpPut: "put", OpAppend: "append", OpCAS: "cas"}

// String returns the name the history formats use: get, put, append, cas.
func (op KVOp) String() string {
	if name, ok := kvOpNames[op]; ok {
		return name
	}
	return fmt.Sprintf("KVOp(%d)", uint8(op))
}

// ParseKVOp is the inverse of KVOp.String.
func ParseKVOp(name string) (KVOp, bool) {
	for op, n := range kvOpNames {
		if n == name {
			return op, true
		}
	}
	return 0, false
}

// writes reports whether the operation can change the value of its key.
func (op KVOp) writes() bool { return op == OpPut || op == OpAppend || op == OpCAS }

// KVInput is one request to the key-value state machine. Value is the value written by put
// and append and the new value of cas; Expected is what cas compares against.
type KVInput struct {
	Op       KVOp
	Key      string
	Value    string
	Expected string
}

// KVOutput is what the state machine answers: the value read by get, and whether cas
// swapped. Put and append answer nothing, so their output is the zero KVOutput.
type KVOutput struct {
	Value   string
	Swapped bool
}

// KVStep applies one request to the value of its key and returns the key's new value and
// the answer. An absent key is the empty string, so a key's whole state is one string and
// the model partitions by key for free. It is pure: the simulator's state machine, the
// in-run checker and porcupine all call it, so they cannot disagree about the semantics.
func KVStep(value string, in KVInput) (string, KVOutput) {
	switch in.Op {
	case OpGet:
		return value, KVOutput{Value: value}
	case OpPut:
		return in.Value, KVOutput{}
	case OpAppend:
		return value + in.Value, KVOutput{}
	case OpCAS:
		if value == in.Expected {
			return in.Value, KVOutput{Swapped: true}
		}
		return value, KVOutput{}
	}
	return value, KVOutput{}
}

// OutputMatches reports whether the answer the model gives equals the one a client saw.
// Only the fields an operation defines are compared, so a history need not zero the rest.
func OutputMatches(op KVOp, model, seen KVOutput) bool {
	switch op {
	case OpGet:
		return model.Value == seen.Value
	case OpCAS:
		return model.Swapped == seen.Swapped
	}
	return true
}

// KVModel is the key-value state machine as a porcupine model, partitioned by key: each
// partition's state is one key's value. Inputs are KVInput; outputs are KVOutput, or nil
// for an operation whose client never heard back (pending), which accepts any answer.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			in := input.(KVInput)
			next, out := KVStep(state.(string), in)
			if output == nil {
				return true, next
			}
			return OutputMatches(in.Op, out, output.(KVOutput)), next
		},
		Hash:              hashString,
		DescribeOperation: describeKVOperation,
		DescribeState:     func(state any) string { return strconv.Quote(state.(string)) },
	}
}

// partitionByKey splits a history into one partition per key, in key order so that results
// and visualisations do not depend on map iteration.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := make(map[string][]porcupine.Operation)
	for _, op := range history {
		key := op.Input.(KVInput).Key
		byKey[key] = append(byKey[key], op)
	}
	keys := make([]string, 0, len(byKey))
	for key := range byKey {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, len(keys))
	for i, key := range keys {
		parts[i] = byKey[key]
	}
	return parts
}

func hashString(state any) uint64 {
	h := fnv.New64a()
	h.Write([]byte(state.(string)))
	return h.Sum64()
}

func describeKVOperation(input, output any) string {
	in := input.(KVInput)
	if output == nil {
		return DescribeInput(in) + " -> ?"
	}
	return DescribeCall(in, output.(KVOutput))
}

// DescribeInput renders a request the way explanations and visualisations show it.
func DescribeInput(in KVInput) string {
	switch in.Op {
	case OpGet:
		return fmt.Sprintf("get(%q)", in.Key)
	case OpCAS:
		return fmt.Sprintf("cas(%q, %q, %q)", in.Key, in.Expected, in.Value)
	}
	return fmt.Sprintf("%s(%q, %q)", in.Op, in.Key, in.Value)
}

// DescribeCall renders a completed request with its answer.
func DescribeCall(in KVInput, out KVOutput) string {
	switch in.Op {
	case OpGet:
		return fmt.Sprintf("%s -> %q", DescribeInput(in), out.Value)
	case OpCAS:
		return fmt.Sprintf("%s -> %t", DescribeInput(in), out.Swapped)
	}
	return DescribeInput(in)
}

// RegisterState is the value of the single register of Jepsen's etcd test: absent (nil)
// until the first write.
type RegisterState struct {
	Value   int64
	Present bool
}

// RegisterInput is a read (OpGet), write (OpPut) or compare-and-set (OpCAS) of the register.
type RegisterInput struct {
	Op       KVOp
	Value    int64
	Expected int64
}

// RegisterOutput is the answer: the value read (Present false for nil) or whether cas swapped.
type RegisterOutput struct {
	Value   int64
	Present bool
	Swapped bool
}

// RegisterStep applies one request to the register. A cas on an absent register fails,
// whatever it expected, as etcd's compare-and-swap does on a missing key.
func RegisterStep(state RegisterState, in RegisterInput) (RegisterState, RegisterOutput) {
	switch in.Op {
	case OpGet:
		return state, RegisterOutput{Value: state.Value, Present: state.Present}
	case OpPut:
		return RegisterState{Value: in.Value, Present: true}, RegisterOutput{}
	case OpCAS:
		if state.Present && state.Value == in.Expected {
			return RegisterState{Value: in.Value, Present: true}, RegisterOutput{Swapped: true}
		}
	}
	return state, RegisterOutput{}
}

// RegisterModel is the register as a porcupine model: one partition, inputs RegisterInput,
// outputs RegisterOutput or nil for a pending operation.
func RegisterModel() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return RegisterState{} },
		Step: func(state, input, output any) (bool, any) {
			in := input.(RegisterInput)
			next, out := RegisterStep(state.(RegisterState), in)
			if output == nil {
				return true, next
			}
			seen := output.(RegisterOutput)
			switch in.Op {
			case OpGet:
				return out.Present == seen.Present && (!out.Present || out.Value == seen.Value), next
			case OpCAS:
				return out.Swapped == seen.Swapped, next
			}
			return true, next
		},
		DescribeOperation: describeRegisterOperation,
		DescribeState:     func(state any) string { return describeRegisterValue(state.(RegisterState)) },
	}
}

func describeRegisterValue(s RegisterState) string {
	if !s.Present {
		return "nil"
	}
	return strconv.FormatInt(s.Value, 10)
}

func describeRegisterOperation(input, output any) string {
	in := input.(RegisterInput)
	var call string
	switch in.Op {
	case OpGet:
		call = "read()"
	case OpPut:
		return fmt.Sprintf("write(%d)", in.Value)
	default:
		call = fmt.Sprintf("cas(%d, %d)", in.Expected, in.Value)
	}
	if output == nil {
		return call + " -> ?"
	}
	out := output.(RegisterOutput)
	if in.Op == OpGet {
		return call + " -> " + describeRegisterValue(RegisterState{Value: out.Value, Present: out.Present})
	}
	return fmt.Sprintf("%s -> %t", call, out.Swapped)
}
