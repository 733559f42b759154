package core

import (
	"encoding/binary"
	"fmt"
)

// A prepare's body is a batch: its requests one after the other, each a 32-byte entry
// header followed by the request's body.
//
//	 0  8  client
//	 8  8  session
//	16  4  request number
//	20  1  operation
//	21  3  zero
//	24  4  body length
//	28  4  zero
const batchEntrySize = 32

// appendBatchEntry appends one request to a batch.
func appendBatchEntry(batch []byte, m *Request) []byte {
	// The body came in a message and goes out in one: its length fits the entry's field.
	assert(len(m.Body) <= MessageSizeMax-HeaderSize-batchEntrySize)
	var entry [batchEntrySize]byte
	le := binary.LittleEndian
	le.PutUint64(entry[0:], uint64(m.Client))
	le.PutUint64(entry[8:], uint64(m.Session))
	le.PutUint32(entry[16:], uint32(m.Request))
	entry[20] = byte(m.Operation)
	le.PutUint32(entry[24:], uint32(len(m.Body)))
	out := append(append(batch, entry[:]...), m.Body...)
	// Every backup reads the entry back as this request: the layout parseBatchEntry reads
	// is the one written. (Tests append invalid requests to see them rejected: those read
	// back only as far as validRequest, which turns them down.)
	var back Request
	if err := parseBatchEntry(out[len(batch):], &back); err == nil {
		assert(back.Client == m.Client)
		assert(back.Session == m.Session)
		assert(back.Request == m.Request)
		assert(back.Operation == m.Operation)
		assert(string(back.Body) == string(m.Body))
	} else {
		assert(validRequest(m) != nil)
	}
	return out
}

// batchSize is the bytes a request takes in a batch.
func batchSize(m *Request) int {
	assert(len(m.Body) <= MessageSizeMax-HeaderSize) // a request's, which came in a message
	return batchEntrySize + len(m.Body)
}

// batchIterator walks a batch. Next fills in a request whose Body aliases the batch.
type batchIterator struct {
	batch []byte
	left  uint32
}

func newBatchIterator(batch []byte, count uint32) batchIterator {
	assert(len(batch) <= MessageSizeMax-HeaderSize) // a prepare's body
	// Every entry takes at least its header: a count the bytes cannot hold is no batch the
	// decoder let through.
	if uint64(len(batch)) < uint64(count)*batchEntrySize {
		panic(fmt.Sprintf("core: malformed batch in the journal: %d requests in %d bytes",
			count, len(batch)))
	}
	return batchIterator{batch: batch, left: count}
}

// Next returns the next request, or false at the end. It panics on a malformed batch: the
// decoder has validated every batch before it reaches the journal.
func (it *batchIterator) Next(m *Request) bool {
	if it.left == 0 {
		if len(it.batch) != 0 {
			panic("core: batch has bytes beyond its count")
		}
		return false
	}
	if err := parseBatchEntry(it.batch, m); err != nil {
		panic("core: malformed batch in the journal: " + err.Error())
	}
	it.batch = it.batch[batchSize(m):]
	it.left--
	if uint64(len(it.batch)) < uint64(it.left)*batchEntrySize {
		panic(fmt.Sprintf("core: malformed batch in the journal: %d requests left in %d bytes",
			it.left, len(it.batch)))
	}
	return true
}

func parseBatchEntry(b []byte, m *Request) error {
	assert(len(b) <= MessageSizeMax-HeaderSize) // within a prepare's body, whatever it holds
	if len(b) < batchEntrySize {
		return invalid("batch entry truncated")
	}
	le := binary.LittleEndian
	*m = Request{Client: ClientID(le.Uint64(b[0:])), Session: Session(le.Uint64(b[8:])),
		Request: RequestNumber(le.Uint32(b[16:])), Operation: Operation(b[20])}
	length := le.Uint32(b[24:])
	if b[21]|b[22]|b[23] != 0 || le.Uint32(b[28:]) != 0 {
		return ErrReservedNonZero
	}
	if uint64(length) > uint64(len(b)-batchEntrySize) {
		return invalid("batch entry body overruns the batch")
	}
	m.Body = b[batchEntrySize : batchEntrySize+int(length)]
	return validRequest(m)
}

// validateBatch checks that a batch holds exactly count well-formed requests.
func validateBatch(batch []byte, count uint32) error {
	assert(len(batch) <= MessageSizeMax-HeaderSize) // a prepare's body, whatever it holds
	var m Request
	for i := uint32(0); i < count; i++ {
		if err := parseBatchEntry(batch, &m); err != nil {
			return err
		}
		batch = batch[batchSize(&m):]
	}
	if len(batch) != 0 {
		return invalid("batch has %d bytes beyond its %d requests", len(batch), count)
	}
	return nil
}

// validRequest checks what every request must satisfy, wherever it is found.
func validRequest(m *Request) error {
	assert(len(m.Body) <= MessageSizeMax-HeaderSize) // it came in a message, whatever it says
	switch {
	case m.Client == 0:
		return invalid("request without a client")
	case m.Operation == OperationRegister && (m.Session != 0 || m.Request != 0 || len(m.Body) != 0):
		return invalid("register with a session, request number or body")
	case m.Operation == OperationApply && (m.Session == 0 || m.Request == 0):
		return invalid("request without a session or request number")
	case m.Operation != OperationRegister && m.Operation != OperationApply:
		return invalid("request with operation %d", m.Operation)
	}
	return nil
}
