package core

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzDecode feeds the decoder arbitrary bytes. It must never panic, it must reject with one
// of its own errors, and whatever it accepts must be canonical: encoding the decoded struct
// gives back exactly the input, so no two byte strings decode to the same message.
//
// Random bytes almost never pass the checksums, which would keep the fuzzer at the door. So
// each input is also decoded a second time resealed: its size field, the checksums of the
// headers in its body (when the body is whole headers) and its own checksums made right.
// That copy reaches every rule behind the checksums.
//
// Seeds: a valid message of every command (codecSamples), and the files in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range codecSamples() {
		f.Add(s.message)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecodeCheck(t, data)
		if resealed := fuzzReseal(data); resealed != nil {
			fuzzDecodeCheck(t, resealed)
		}
	})
}

func fuzzDecodeCheck(t *testing.T, data []byte) {
	input := bytes.Clone(data) // the decoder must not write to its input
	d := NewDecoder(codecCluster, codecReplicas)
	command, err := d.Decode(data)
	if !bytes.Equal(input, data) {
		t.Fatalf("Decode wrote to its input")
	}
	if err != nil {
		if !codecKnownError(err) {
			t.Fatalf("Decode returned an error of its own making: %v", err)
		}
		if command != 0 {
			t.Fatalf("Decode rejected with %v yet returned command %v", err, command)
		}
		return
	}
	if command == CommandReserved || command >= commandCount {
		t.Fatalf("Decode accepted command %v", command)
	}
	_, again := codecEncode(NewEncoder(codecCluster), codecDecoded(d, command))
	if !bytes.Equal(again, data) {
		t.Fatalf("accepted %v is not canonical:\n input %x\nencoded %x", command, data, again)
	}
}

// fuzzReseal returns a copy of data with the size field and every checksum made right, or
// nil if data is shorter than a header or longer than the codec allows.
func fuzzReseal(data []byte) []byte {
	if len(data) < HeaderSize || len(data) > MessageSizeMax {
		return nil
	}
	out := bytes.Clone(data)
	body := out[HeaderSize:]
	if len(body)%HeaderSize == 0 {
		for i := 0; i < len(body); i += HeaderSize {
			codecSealHeader(body[i : i+HeaderSize])
		}
	}
	checksumOf(body).put(out[16:])
	binary.LittleEndian.PutUint32(out[56:], uint32(len(out)))
	codecSealHeader(out)
	return out
}

// TestFuzzDecodeResealKeepsValid checks the fuzzer's helper on the seeds: resealing a valid
// message changes nothing.
func TestFuzzDecodeResealKeepsValid(t *testing.T) {
	for _, s := range codecSamples() {
		if !bytes.Equal(fuzzReseal(s.message), s.message) {
			t.Errorf("%s: resealing a valid message changed it", s.name)
		}
	}
}
