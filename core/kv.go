package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// KVOp is an operation of the reference key-value state machine.
type KVOp uint8

const (
	KVGet    KVOp = iota + 1 // output: the value ("" when absent)
	KVPut                    // set the value
	KVAppend                 // append to the value
	KVCas                    // set to Value if the value is Expected; output: swapped or not
)

var kvOpNames = [...]string{"", "get", "put", "append", "cas"}

func (o KVOp) String() string {
	if int(o) < len(kvOpNames) && o != 0 {
		return kvOpNames[o]
	}
	return "kv?"
}

// KVInput is one key-value operation. Keys and values are strings; an absent key reads as
// the empty string, so putting "" and deleting are the same.
type KVInput struct {
	Op       KVOp
	Key      string
	Value    string
	Expected string // cas only
}

// KVOutput is what a key-value operation returns.
type KVOutput struct {
	Value   string // get
	Swapped bool   // cas
	Invalid bool   // the input was malformed
}

// Bounds of the key-value encoding.
const (
	KVKeyMax   = 1 << 10
	KVValueMax = 1 << 14
)

var errKVInput = errors.New("malformed key-value input")

// EncodeKV appends an input's encoding: op, then key, value and expected, each as a
// 4-byte length and its bytes.
//
// An input outside the bounds is encoded all the same (tests do, to see it rejected), and
// the decoder then rejects it; every other input it reads back exactly.
func EncodeKV(buf []byte, in KVInput) []byte {
	start := len(buf)
	buf = append(buf, byte(in.Op))
	for _, s := range []string{in.Key, in.Value, in.Expected} {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	assert(len(buf)-start == kvInputOverhead+len(in.Key)+len(in.Value)+len(in.Expected))
	f, ok := parseKV(buf[start:])
	valid := in.Op >= KVGet && in.Op <= KVCas && len(in.Key) <= KVKeyMax &&
		len(in.Value) <= KVValueMax && len(in.Expected) <= KVValueMax
	assert(ok == valid)
	if ok {
		assert(f.op == in.Op)
		assert(string(f.key) == in.Key)
		assert(string(f.value) == in.Value)
		assert(string(f.expected) == in.Expected)
	}
	return buf
}

// kvInputOverhead is the bytes of an encoded input besides its strings: the op, and the
// length of each string.
const kvInputOverhead = 1 + 3*4

// DecodeKV reads an input, rejecting anything malformed.
func DecodeKV(b []byte) (KVInput, error) {
	f, ok := parseKV(b)
	if !ok {
		return KVInput{}, errKVInput
	}
	in := KVInput{Op: f.op, Key: string(f.key), Value: string(f.value), Expected: string(f.expected)}
	// Canonical: every byte read belongs to the input, so EncodeKV gives back b.
	assert(kvInputOverhead+len(in.Key)+len(in.Value)+len(in.Expected) == len(b))
	return in, nil
}

// kvFields is an input read in place: the slices alias the encoded bytes.
type kvFields struct {
	op                   KVOp
	key, value, expected []byte
}

func parseKV(b []byte) (kvFields, bool) {
	// Inputs are request bodies. (EncodeKV parses what it writes, of bounds or not.)
	assert(len(b) <= MessageSizeMax)
	if len(b) < 1 || b[0] < byte(KVGet) || b[0] > byte(KVCas) {
		return kvFields{}, false
	}
	f := kvFields{op: KVOp(b[0])}
	b = b[1:]
	fields := [3]*[]byte{&f.key, &f.value, &f.expected}
	for i, field := range fields {
		if len(b) < 4 {
			return kvFields{}, false
		}
		n := binary.LittleEndian.Uint32(b)
		limit := uint32(KVValueMax)
		if i == 0 {
			limit = KVKeyMax
		}
		if n > limit || uint64(n) > uint64(len(b)-4) {
			return kvFields{}, false
		}
		*field = b[4 : 4+n]
		b = b[4+n:]
	}
	return f, len(b) == 0
}

// Output encoding: one status byte (0 ok, 1 swapped, 0xff invalid), then a get's value.
const (
	kvStatusOk      = 0
	kvStatusSwapped = 1
	kvStatusInvalid = 0xff
)

// DecodeKVOutput reads an output.
func DecodeKVOutput(b []byte) (KVOutput, error) {
	assert(len(b) <= MessageSizeMax) // a reply's body
	if len(b) < 1 {
		return KVOutput{}, errKVInput
	}
	switch b[0] {
	case kvStatusOk:
		return KVOutput{Value: string(b[1:])}, nil
	case kvStatusSwapped:
		return KVOutput{Swapped: true}, nil
	case kvStatusInvalid:
		return KVOutput{Invalid: true}, nil
	}
	return KVOutput{}, errKVInput
}

// KV is the reference key-value state machine.
type KV struct {
	data   map[string]string
	keys   map[string]string // each key's string, interned: a write allocates only its value
	digest Checksum          // xor over present keys of checksumOf(key, value): updated per write
}

// NewKV returns an empty key-value store.
func NewKV() *KV { return &KV{data: make(map[string]string), keys: make(map[string]string)} }

// Apply reads its input in place: a get or a failed cas allocates nothing.
func (kv *KV) Apply(_ Op, _ uint64, input []byte, output []byte) []byte {
	in, ok := parseKV(input)
	if !ok {
		return append(output, kvStatusInvalid)
	}
	digest, keys := kv.digest, len(kv.data)
	current := kv.data[string(in.key)]
	out := kv.apply(&in, current, output)
	// The output is one status byte after what output held, then a get's value; the state
	// after is the one the operation names, and nothing else changed.
	assert(len(out) > len(output))
	status, value := out[len(output)], out[len(output)+1:]
	after := kv.data[string(in.key)]
	switch in.op {
	case KVGet:
		assert(status == kvStatusOk)
		assert(string(value) == current)
	case KVPut:
		assert(status == kvStatusOk)
		assert(after == string(in.value)) // read after the write
	case KVAppend:
		if status == kvStatusInvalid {
			assert(len(current)+len(in.value) > KVValueMax)
			assert(after == current)
		} else {
			assert(status == kvStatusOk)
			assert(len(after) == len(current)+len(in.value))
			assert(after[:len(current)] == current)
		}
	case KVCas:
		assert((status == kvStatusSwapped) == (current == string(in.expected)))
		if status == kvStatusSwapped {
			assert(after == string(in.value))
		} else {
			assert(status == kvStatusOk)
			assert(after == current)
		}
	}
	assert(in.op == KVGet || len(value) == 0) // only a get returns a value
	assert(len(value) <= KVValueMax)          // and it fits a reply
	// The digest moves exactly with the state, and the key set only with this key.
	assert((kv.digest != digest) == (after != current))
	assert(len(kv.data) == keys || (after == "") != (current == ""))
	assert(len(kv.data) != 0 || kv.digest.IsZero()) // an empty store's is zero
	return out
}

// apply runs one parsed input, given the key's current value, and appends its output;
// Apply asserts what each leaves.
func (kv *KV) apply(in *kvFields, current string, output []byte) []byte {
	switch in.op {
	case KVGet:
		return append(append(output, kvStatusOk), current...)
	case KVPut:
		kv.set(kv.intern(in.key), string(in.value))
	case KVAppend:
		if len(current)+len(in.value) > KVValueMax {
			return append(output, kvStatusInvalid)
		}
		kv.set(kv.intern(in.key), current+string(in.value))
	case KVCas:
		if current != string(in.expected) {
			return append(output, kvStatusOk)
		}
		kv.set(kv.intern(in.key), string(in.value))
		return append(output, kvStatusSwapped)
	default:
		panic(fmt.Sprintf("core: parseKV accepted key-value op %d", in.op))
	}
	return append(output, kvStatusOk)
}

func (kv *KV) intern(key []byte) string {
	assert(len(key) <= KVKeyMax) // parseKV's bound: the table of keys grows by small ones
	if s, ok := kv.keys[string(key)]; ok {
		assert(s == string(key))
		return s
	}
	s := string(key)
	kv.keys[s] = s
	return s
}

// set writes a value; "" removes the key. The digest changes exactly when the state does.
func (kv *KV) set(key, value string) {
	assert(len(key) <= KVKeyMax)
	assert(len(value) <= KVValueMax)
	digest := kv.digest
	old, ok := kv.data[key]
	if ok {
		assert(old != "") // an absent key and an empty value are one state: "" is never kept
		kv.digest = xorChecksum(kv.digest, kvEntryChecksum(key, old))
	}
	if value == "" {
		delete(kv.data, key)
	} else {
		kv.data[key] = value
		kv.digest = xorChecksum(kv.digest, kvEntryChecksum(key, value))
	}
	// (A change that leaves the digest as it was would take a 128-bit collision.)
	if (kv.digest != digest) != (old != value) {
		panic(fmt.Sprintf("core: key-value digest changed %v for a write that changed %v",
			kv.digest != digest, old != value))
	}
}

func kvEntryChecksum(key, value string) Checksum {
	// Length-prefixed, the key cannot run into the value: (k, v) and (k+v[:1], v[1:])
	// differ. Both are the store's, within bounds.
	assert(len(key) <= KVKeyMax)
	assert(len(value) <= KVValueMax)
	var buf [256]byte
	b := binary.LittleEndian.AppendUint32(buf[:0], uint32(len(key)))
	b = append(append(b, key...), value...) // on the stack unless the value is long
	return checksumOf(b)
}

func xorChecksum(a, b Checksum) Checksum { return Checksum{Lo: a.Lo ^ b.Lo, Hi: a.Hi ^ b.Hi} }

// Digest is order-independent over the key set, so it costs nothing per tick.
func (kv *KV) Digest() Checksum {
	assert(len(kv.data) != 0 || kv.digest.IsZero())
	return kv.digest
}

// Get reads a key directly, for tests and the checker.
func (kv *KV) Get(key string) string {
	value := kv.data[key]
	assert(len(value) <= KVValueMax)
	return value
}

// Snapshot encodes the store with its keys sorted, so equal stores give equal snapshots.
func (kv *KV) Snapshot() []byte {
	keys := make([]string, 0, len(kv.data))
	// map order: the keys are sorted before anything is written.
	for key := range kv.data {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var out []byte
	for _, key := range keys {
		out = EncodeKV(out, KVInput{Op: KVPut, Key: key, Value: kv.data[key]})
	}
	// Restored, the snapshot is this store again: written, then read back.
	var back KV
	err := back.Restore(out)
	if err != nil || back.digest != kv.digest || len(back.data) != len(kv.data) {
		panic(fmt.Sprintf("core: a snapshot of %d keys does not restore: %v", len(keys), err))
	}
	return out
}

// Restore replaces the store with a snapshot's contents.
func (kv *KV) Restore(snapshot []byte) error {
	fresh := NewKV()
	for len(snapshot) > 0 {
		size, err := kvEncodedSize(snapshot)
		if err != nil {
			return err
		}
		in, err := DecodeKV(snapshot[:size])
		if err != nil || in.Op != KVPut {
			return errKVInput
		}
		fresh.set(in.Key, in.Value)
		snapshot = snapshot[size:]
	}
	// The digest kept write by write is the one of the state as a whole.
	var digest Checksum
	// map order: xor is commutative, so the order cannot reach the digest.
	for key, value := range fresh.data {
		digest = xorChecksum(digest, kvEntryChecksum(key, value))
	}
	assert(digest == fresh.digest)
	*kv = *fresh
	return nil
}

func kvEncodedSize(b []byte) (int, error) {
	size := 1
	for i := 0; i < 3; i++ {
		if len(b) < size+4 {
			return 0, errKVInput
		}
		n := int(binary.LittleEndian.Uint32(b[size:]))
		if n > KVValueMax || len(b) < size+4+n {
			return 0, errKVInput
		}
		size += 4 + n
	}
	return size, nil
}
