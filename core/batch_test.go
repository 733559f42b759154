package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// batchRequests is a mix of every request shape a batch holds.
func batchRequests() []Request {
	return []Request{
		{Client: 1, Operation: OperationRegister},
		{Client: 2, Session: 9, Request: 1, Operation: OperationApply},
		{Client: 3, Session: 1 << 40, Request: 1<<32 - 1, Operation: OperationApply,
			Body: bytes.Repeat([]byte("xy"), 300)},
		{Client: 1<<64 - 1, Session: 2, Request: 7, Operation: OperationApply, Body: []byte{0}},
	}
}

func TestBatchAppendIterate(t *testing.T) {
	requests := batchRequests()
	var batch []byte
	size := 0
	for i := range requests {
		batch = appendBatchEntry(batch, &requests[i])
		size += batchSize(&requests[i])
		if len(batch) != size {
			t.Fatalf("after %d requests the batch is %d bytes, batchSize says %d", i+1, len(batch), size)
		}
	}
	if err := validateBatch(batch, uint32(len(requests))); err != nil {
		t.Fatalf("validateBatch: %v", err)
	}
	var got []Request
	it := newBatchIterator(batch, uint32(len(requests)))
	var m Request
	for it.Next(&m) {
		got = append(got, m)
	}
	if diff := cmp.Diff(requests, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("iterated requests differ (-want +got):\n%s", diff)
	}
	if it.Next(&m) {
		t.Fatalf("Next after the end returned a request")
	}
}

func TestBatchLayout(t *testing.T) {
	m := Request{Client: 0x0102030405060708, Session: 0x1112131415161718, Request: 0x21222324,
		Operation: OperationApply, Body: []byte("body")}
	entry := appendBatchEntry([]byte("prefix"), &m)[len("prefix"):]
	le := binary.LittleEndian
	switch {
	case le.Uint64(entry[0:]) != uint64(m.Client), le.Uint64(entry[8:]) != uint64(m.Session),
		le.Uint32(entry[16:]) != uint32(m.Request), entry[20] != byte(OperationApply),
		entry[21]|entry[22]|entry[23] != 0, le.Uint32(entry[24:]) != 4, le.Uint32(entry[28:]) != 0,
		string(entry[batchEntrySize:]) != "body":
		t.Fatalf("entry does not follow the layout in batch.go: %x", entry)
	}
}

func TestBatchEmpty(t *testing.T) {
	if err := validateBatch(nil, 0); err != nil {
		t.Fatalf("an empty batch of 0 requests: %v", err)
	}
	it := newBatchIterator(nil, 0)
	var m Request
	if it.Next(&m) {
		t.Fatalf("an empty batch yielded a request")
	}
}

func TestBatchRejectsMalformed(t *testing.T) {
	requests := batchRequests()
	var good []byte
	for i := range requests {
		good = appendBatchEntry(good, &requests[i])
	}
	count := uint32(len(requests))
	patched := func(at int, value byte) []byte {
		b := bytes.Clone(good)
		b[at] = value
		return b
	}
	entry := func(m Request) []byte { return appendBatchEntry(nil, &m) }
	lengthSaying := func(n uint32) []byte {
		b := entry(Request{Client: 2, Session: 9, Request: 1, Operation: OperationApply, Body: []byte("abc")})
		binary.LittleEndian.PutUint32(b[24:], n)
		return b
	}
	cases := []struct {
		name  string
		batch []byte
		count uint32
		want  error
	}{
		{"count above the entries", good, count + 1, ErrInvalid},
		{"count below the entries", good, count - 1, ErrInvalid},
		{"count 0 with entries", good, 0, ErrInvalid},
		{"bytes after the last entry", append(bytes.Clone(good), 1), count, ErrInvalid},
		{"entry header truncated", good[:batchEntrySize-1], 1, ErrInvalid},
		{"last body truncated", good[:len(good)-1], count, ErrInvalid},
		{"length overruns the batch", lengthSaying(4), 1, ErrInvalid},
		{"length 2^32-1", lengthSaying(1<<32 - 1), 1, ErrInvalid},
		{"length short leaves bytes", lengthSaying(2), 1, ErrInvalid},
		{"reserved byte 21", patched(21, 1), count, ErrReservedNonZero},
		{"reserved byte 23", patched(23, 0x80), count, ErrReservedNonZero},
		{"reserved byte 28", patched(28, 1), count, ErrReservedNonZero},
		{"reserved byte 31", patched(31, 1), count, ErrReservedNonZero},
		{"client 0", entry(Request{Operation: OperationRegister}), 1, ErrInvalid},
		{"register with a body", entry(Request{Client: 1, Operation: OperationRegister, Body: []byte{1}}), 1, ErrInvalid},
		{"register with a session", entry(Request{Client: 1, Session: 1, Operation: OperationRegister}), 1, ErrInvalid},
		{"apply without a session", entry(Request{Client: 1, Request: 1, Operation: OperationApply}), 1, ErrInvalid},
		{"apply with request 0", entry(Request{Client: 1, Session: 1, Operation: OperationApply}), 1, ErrInvalid},
		{"operation none", entry(Request{Client: 1, Session: 1, Request: 1}), 1, ErrInvalid},
		{"operation 200", entry(Request{Client: 1, Session: 1, Request: 1, Operation: 200}), 1, ErrInvalid},
	}
	for _, c := range cases {
		err := validateBatch(c.batch, c.count)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: validateBatch = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestBatchIteratorPanicsOnMalformed: the journal only holds validated batches, so the
// iterator treats a malformed one as a broken invariant.
func TestBatchIteratorPanicsOnMalformed(t *testing.T) {
	m := Request{Client: 2, Session: 9, Request: 1, Operation: OperationApply, Body: []byte("abc")}
	good := appendBatchEntry(nil, &m)
	drain := func(batch []byte, count uint32) func() {
		return func() {
			it := newBatchIterator(batch, count)
			var m Request
			for it.Next(&m) {
			}
		}
	}
	cases := []struct {
		name, batch string
		count       uint32
		want        string
	}{
		{"bytes beyond the count", string(good), 0, "beyond its count"},
		{"a missing entry", string(good), 2, "malformed batch"},
		{"truncated body", string(good[:len(good)-1]), 1, "malformed batch"},
	}
	for _, c := range cases {
		message, panicked := unitRecover(drain([]byte(c.batch), c.count))
		if !panicked || !strings.Contains(message, c.want) {
			t.Errorf("%s: panicked %v with %q, want a panic with %q", c.name, panicked, message, c.want)
		}
	}
}

// unitRecover runs f and reports whether it panicked, and with what.
func unitRecover(f func()) (message string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			message, panicked = unitPanicText(r), true
		}
	}()
	f()
	return "", false
}

func unitPanicText(r any) string {
	switch r := r.(type) {
	case string:
		return r
	case error:
		return r.Error()
	}
	return "non-string panic"
}

// unitMustPanic fails the test unless f panics with a message containing want.
func unitMustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	message, panicked := unitRecover(f)
	if !panicked {
		t.Fatalf("no panic; want one with %q", want)
	}
	if !strings.Contains(message, want) {
		t.Fatalf("panic %q; want one with %q", message, want)
	}
}
