package core

import (
	"bytes"
	"testing"
)

// The codec runs once per message sent and received, so it should cost a few hundred
// nanoseconds and allocate nothing: the encoder reuses its buffer, the decoder its structs.
// Each benchmark reports encode, decode, and the two together.

func BenchmarkCodecPrepare16(b *testing.B) {
	enc := NewEncoder(codecCluster)
	p, _ := codecPrepare(enc, 16)
	codecBench(b, func(e *Encoder) []byte { return e.Prepare(&p.PrepareHeader, p.Body) })
}

func BenchmarkCodecPrepareOk(b *testing.B) {
	m := PrepareOk{Replica: 3, View: 8, Op: 1000, Commit: 990, Prepare: Checksum{Lo: 1, Hi: 2}}
	codecBench(b, func(e *Encoder) []byte { return e.PrepareOk(&m) })
}

func BenchmarkCodecDoViewChange9(b *testing.B) {
	m := DoViewChange{Replica: 1, View: 12, LogView: 7, Op: 1009, Commit: 1001, Present: 0x1ff,
		Headers: codecChain(Checksum{Lo: 1}, 1001, 9, 7)}
	codecBench(b, func(e *Encoder) []byte { return e.DoViewChange(&m) })
}

func codecBench(b *testing.B, encode func(e *Encoder) []byte) {
	enc := NewEncoder(codecCluster)
	dec := NewDecoder(codecCluster, codecReplicas)
	message := bytes.Clone(encode(enc))
	if _, err := dec.Decode(message); err != nil {
		b.Fatalf("the benchmark's message does not decode: %v", err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(message)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			encode(enc)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(message)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := dec.Decode(message); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode+decode", func(b *testing.B) {
		b.SetBytes(int64(len(message)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := dec.Decode(encode(enc)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCodecDoesNotAllocate holds the benchmarks' promise in the ordinary test run.
func TestCodecDoesNotAllocate(t *testing.T) {
	enc := NewEncoder(codecCluster)
	dec := NewDecoder(codecCluster, codecReplicas)
	for _, s := range codecSamples() {
		m := s.want
		if _, ok := m.(Prepare); ok {
			continue // Encoder.Prepare writes its header: covered below
		}
		allocs := testing.AllocsPerRun(20, func() {
			_, message := codecEncode(enc, m)
			if _, err := dec.Decode(message); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: %.0f allocations per encode and decode", s.name, allocs)
		}
	}
	p, _ := codecPrepare(enc, 16)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := dec.Decode(enc.Prepare(&p.PrepareHeader, p.Body)); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("prepare of 16 requests: %.0f allocations per encode and decode", allocs)
	}
}
