package core

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestKVEncodeDecodeRoundTrip(t *testing.T) {
	inputs := []KVInput{
		{Op: KVGet, Key: "k"},
		{Op: KVGet},
		{Op: KVPut, Key: "key", Value: "value"},
		{Op: KVAppend, Key: "k", Value: "\x00\xff"},
		{Op: KVCas, Key: "k", Value: "new", Expected: "old"},
		{Op: KVCas, Key: strings.Repeat("k", KVKeyMax), Value: strings.Repeat("v", KVValueMax),
			Expected: strings.Repeat("e", KVValueMax)},
	}
	for _, in := range inputs {
		encoded := EncodeKV([]byte("prefix"), in)
		if string(encoded[:6]) != "prefix" {
			t.Fatalf("EncodeKV did not append")
		}
		got, err := DecodeKV(encoded[6:])
		if err != nil || got != in {
			t.Errorf("DecodeKV(EncodeKV(%v %.10q)) = %+v, %v", in.Op, in.Key, got, err)
		}
	}
}

func TestKVDecodeRejectsMalformed(t *testing.T) {
	good := EncodeKV(nil, KVInput{Op: KVPut, Key: "key", Value: "value"})
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	setLength := func(at int, n uint32) []byte {
		return with(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[at:], n); return b })
	}
	keyAt, valueAt := 1, 1+4+3
	cases := map[string][]byte{
		"empty":               nil,
		"op 0":                with(func(b []byte) []byte { b[0] = 0; return b }),
		"op 5":                with(func(b []byte) []byte { b[0] = byte(KVCas) + 1; return b }),
		"op only":             good[:1],
		"key length cut":      good[:3],
		"key cut":             good[:1+4+2],
		"expected missing":    good[:len(good)-4],
		"trailing byte":       append(bytes.Clone(good), 0),
		"key length too long": setLength(keyAt, 4),
		"value length huge":   setLength(valueAt, 1<<32-1),
		"key over KVKeyMax":   EncodeKV(nil, KVInput{Op: KVGet, Key: strings.Repeat("k", KVKeyMax+1)}),
		"value over max":      EncodeKV(nil, KVInput{Op: KVPut, Key: "k", Value: strings.Repeat("v", KVValueMax+1)}),
		"expected over max": EncodeKV(nil, KVInput{Op: KVCas, Key: "k",
			Expected: strings.Repeat("e", KVValueMax+1)}),
	}
	for name, input := range cases {
		if in, err := DecodeKV(input); err == nil {
			t.Errorf("%s: DecodeKV accepted %+v", name, in)
		}
	}
}

// kvApply runs one input through a store and decodes its output.
func kvApply(t *testing.T, kv *KV, in KVInput) KVOutput {
	t.Helper()
	out, err := DecodeKVOutput(kv.Apply(1, 1, EncodeKV(nil, in), nil))
	if err != nil {
		t.Fatalf("%v %q: output does not decode: %v", in.Op, in.Key, err)
	}
	return out
}

func TestKVOperations(t *testing.T) {
	kv := NewKV()
	steps := []struct {
		in   KVInput
		want KVOutput
		key  string // the value of "k" after the step
	}{
		{KVInput{Op: KVGet, Key: "k"}, KVOutput{Value: ""}, ""},
		{KVInput{Op: KVAppend, Key: "k", Value: "a"}, KVOutput{}, "a"},
		{KVInput{Op: KVAppend, Key: "k", Value: "b"}, KVOutput{}, "ab"},
		{KVInput{Op: KVGet, Key: "k"}, KVOutput{Value: "ab"}, "ab"},
		{KVInput{Op: KVCas, Key: "k", Expected: "zz", Value: "no"}, KVOutput{Swapped: false}, "ab"},
		{KVInput{Op: KVCas, Key: "k", Expected: "ab", Value: "yes"}, KVOutput{Swapped: true}, "yes"},
		{KVInput{Op: KVPut, Key: "k", Value: "p"}, KVOutput{}, "p"},
		{KVInput{Op: KVPut, Key: "k", Value: ""}, KVOutput{}, ""},
		{KVInput{Op: KVCas, Key: "k", Expected: "", Value: "from absent"}, KVOutput{Swapped: true}, "from absent"},
		{KVInput{Op: KVGet, Key: "other"}, KVOutput{Value: ""}, "from absent"},
	}
	for i, s := range steps {
		got := kvApply(t, kv, s.in)
		if got != s.want || kv.Get("k") != s.key {
			t.Fatalf("step %d %v: output %+v, k = %q; want %+v, k = %q", i, s.in.Op, got, kv.Get("k"), s.want, s.key)
		}
	}
	if got := kvApply(t, kv, KVInput{Op: KVGet, Key: "other"}); got.Value != "" || kv.Get("other") != "" {
		t.Fatalf("a get created a key")
	}
}

func TestKVInvalidInputs(t *testing.T) {
	kv := NewKV()
	kvApply(t, kv, KVInput{Op: KVPut, Key: "k", Value: strings.Repeat("v", KVValueMax)})
	before := kv.Digest()
	if got := kvApply(t, kv, KVInput{Op: KVAppend, Key: "k", Value: "x"}); !got.Invalid {
		t.Fatalf("an append past KVValueMax: %+v, want invalid", got)
	}
	for _, input := range [][]byte{nil, {0}, {byte(KVPut), 1, 2}} {
		out, err := DecodeKVOutput(kv.Apply(1, 1, input, nil))
		if err != nil || !out.Invalid {
			t.Fatalf("Apply(%x) = %+v, %v; want invalid", input, out, err)
		}
	}
	if kv.Digest() != before || len(kv.Get("k")) != KVValueMax {
		t.Fatalf("an invalid input changed the state")
	}
	for _, bad := range [][]byte{nil, {2}, {0x7f, 'x'}} {
		if out, err := DecodeKVOutput(bad); err == nil {
			t.Errorf("DecodeKVOutput(%x) = %+v, want an error", bad, out)
		}
	}
}

// TestKVDigestIsOfTheState: stores that hold the same keys and values have the same digest,
// whatever ops brought them there; stores that differ do not.
func TestKVDigestIsOfTheState(t *testing.T) {
	build := func(inputs ...KVInput) *KV {
		kv := NewKV()
		for _, in := range inputs {
			kv.Apply(1, 1, EncodeKV(nil, in), nil)
		}
		return kv
	}
	put := func(k, v string) KVInput { return KVInput{Op: KVPut, Key: k, Value: v} }
	appendTo := func(k, v string) KVInput { return KVInput{Op: KVAppend, Key: k, Value: v} }
	cas := func(k, from, to string) KVInput { return KVInput{Op: KVCas, Key: k, Expected: from, Value: to} }
	get := func(k string) KVInput { return KVInput{Op: KVGet, Key: k} }
	equal := []struct {
		name string
		a, b *KV
	}{
		{"put ab, put a + append b", build(put("k", "ab")), build(put("k", "a"), appendTo("k", "b"))},
		{"put empty, delete", build(put("x", "1"), put("k", ""), put("k", "v"), put("k", "")), build(put("x", "1"))},
		{"empty store, put empty", NewKV(), build(put("k", ""))},
		{"order of keys", build(put("a", "1"), put("b", "2")), build(put("b", "2"), put("a", "1"))},
		{"overwrites", build(put("k", "1"), put("k", "2")), build(put("k", "2"))},
		{"gets change nothing", build(put("k", "v"), get("k"), get("z")), build(put("k", "v"))},
		{"cas swap, put", build(put("k", "a"), cas("k", "a", "b")), build(put("k", "b"))},
		{"cas no swap", build(put("k", "a"), cas("k", "x", "b")), build(put("k", "a"))},
	}
	for _, c := range equal {
		if c.a.Digest() != c.b.Digest() {
			t.Errorf("%s: digests differ", c.name)
		}
	}
	distinct := []*KV{NewKV(), build(put("k", "v")), build(put("k", "w")), build(put("K", "v")),
		build(put("kv", "x")), build(put("k", "v"), put("j", "v")),
		// The key's length is in the digest: "ab"="c" is not "a"="bc".
		build(put("ab", "c")), build(put("a", "bc"))}
	for i := range distinct {
		for j := i + 1; j < len(distinct); j++ {
			if distinct[i].Digest() == distinct[j].Digest() {
				t.Errorf("distinct stores %d and %d have the same digest", i, j)
			}
		}
	}
}

func TestKVSnapshotRestore(t *testing.T) {
	kv := NewKV()
	for i, k := range []string{"zeta", "alpha", "mid", "", "\x00bin"} {
		kvApply(t, kv, KVInput{Op: KVPut, Key: k, Value: strings.Repeat("v", i+1)})
	}
	kvApply(t, kv, KVInput{Op: KVPut, Key: "gone", Value: "x"})
	kvApply(t, kv, KVInput{Op: KVPut, Key: "gone", Value: ""})
	snapshot := kv.Snapshot()
	restored := NewKV()
	kvApply(t, restored, KVInput{Op: KVPut, Key: "stale", Value: "replaced by the restore"})
	if err := restored.Restore(snapshot); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if restored.Digest() != kv.Digest() || !bytes.Equal(restored.Snapshot(), snapshot) {
		t.Fatalf("restored store differs from the original")
	}
	if restored.Get("stale") != "" || restored.Get("mid") != "vvv" || restored.Get("") != "vvvv" {
		t.Fatalf("restored values: stale %q mid %q empty-key %q", restored.Get("stale"),
			restored.Get("mid"), restored.Get(""))
	}
	// Equal stores give equal snapshots, whatever order their keys were written in.
	other := NewKV()
	for i, k := range []string{"\x00bin", "", "mid", "alpha", "zeta"} {
		kvApply(t, other, KVInput{Op: KVPut, Key: k, Value: strings.Repeat("v", 5-i)})
	}
	if !bytes.Equal(other.Snapshot(), snapshot) {
		t.Fatalf("equal stores, different snapshots")
	}
	empty := NewKV()
	if err := empty.Restore(NewKV().Snapshot()); err != nil || empty.Digest() != NewKV().Digest() {
		t.Fatalf("restoring an empty snapshot: %v", err)
	}
}

func TestKVRestoreRejectsGarbage(t *testing.T) {
	kv := NewKV()
	kvApply(t, kv, KVInput{Op: KVPut, Key: "a", Value: "1"})
	kvApply(t, kv, KVInput{Op: KVPut, Key: "b", Value: "2"})
	good := kv.Snapshot()
	garbage := map[string][]byte{
		"truncated":     good[:len(good)-1],
		"trailing byte": append(bytes.Clone(good), 0),
		"a get entry":   EncodeKV(bytes.Clone(good), KVInput{Op: KVGet, Key: "c"}),
		"a cas entry":   EncodeKV(nil, KVInput{Op: KVCas, Key: "c", Value: "v"}),
		"op 0":          append([]byte{0}, good[1:]...),
		"huge length":   append([]byte{byte(KVPut), 0xff, 0xff, 0xff, 0xff}, good[5:]...),
		"long key":      EncodeKV(nil, KVInput{Op: KVPut, Key: strings.Repeat("k", KVKeyMax+1), Value: "v"}),
		"random":        []byte("this is not a snapshot"),
	}
	for name, snapshot := range garbage {
		target := NewKV()
		kvApply(t, target, KVInput{Op: KVPut, Key: "keep", Value: "me"})
		before := target.Digest()
		if err := target.Restore(snapshot); err == nil {
			t.Errorf("%s: Restore accepted it", name)
		}
		if target.Digest() != before || target.Get("keep") != "me" {
			t.Errorf("%s: a failed Restore changed the store", name)
		}
	}
}

func TestKVOpString(t *testing.T) {
	for op, want := range map[KVOp]string{KVGet: "get", KVPut: "put", KVAppend: "append",
		KVCas: "cas", 0: "kv?", 9: "kv?"} {
		if got := op.String(); got != want {
			t.Errorf("KVOp(%d).String() = %q, want %q", op, got, want)
		}
	}
}
