package lincheck

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// publicHistories holds a copy of the shared public histories (testdata/public/README.md).
const publicHistories = "testdata/public"

func TestReadExampleJSON(t *testing.T) {
	h, err := ReadHistory("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &History{Format: FormatVSRSim, Model: ModelKV, TimeUnit: "tick", Operations: []Operation{
		{Client: 3, Invoke: 120, Response: 180, Input: KVInput{Op: OpPut, Key: "k1", Value: "c3.7"}, OpNumber: 57},
		{Client: 4, Invoke: 121, Response: 200, Input: KVInput{Op: OpGet, Key: "k1"}, Output: KVOutput{Value: "c3.7"}, OpNumber: 58},
		{Client: 5, Invoke: 130, Response: 190, Input: KVInput{Op: OpCAS, Key: "k1", Expected: "c3.7", Value: "c5.2"},
			Output: KVOutput{Swapped: true}, OpNumber: 59},
		{Client: 6, Invoke: 140, Pending: true, Input: KVInput{Op: OpAppend, Key: "k2", Value: "c6.1"}},
	}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("example.json read wrong (-want +got):\n%s", diff)
	}
}

// TestWriteReadJSONRoundTrip writes generated histories, with every kind of operation,
// pending ones and awkward strings, and reads them back unchanged.
func TestWriteReadJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		h := genHistory(rng, genConfig{clients: 5, keys: 3, ops: 60, pendingPct: 10, casPct: 20})
		h.Operations[0].Input.Key = "quote\" back\\slash \n newline \u00e9"
		var buf bytes.Buffer
		if err := WriteHistoryJSON(&buf, h); err != nil {
			t.Fatal(err)
		}
		got, err := ParseHistory("roundtrip.json", buf.Bytes())
		if err != nil {
			t.Fatalf("reading what WriteHistoryJSON wrote: %v\n%s", err, buf.String())
		}
		h.Format, h.Model, h.TimeUnit = FormatVSRSim, ModelKV, "tick"
		if diff := cmp.Diff(h, got); diff != "" {
			t.Fatalf("round trip changed the history (-want +got):\n%s", diff)
		}
	}
}

func TestWriteHistoryJSONLayout(t *testing.T) {
	h, err := ReadHistory("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHistoryJSON(&buf, h); err != nil {
		t.Fatal(err)
	}
	want := `{"format": "vsrsim-history/1", "model": "kv", "operations": [
 {"client": 3, "invoke": 120, "response": 180, "f": "put", "key": "k1", "value": "c3.7", "op": 57},
 {"client": 4, "invoke": 121, "response": 200, "f": "get", "key": "k1", "output": "c3.7", "op": 58},
 {"client": 5, "invoke": 130, "response": 190, "f": "cas", "key": "k1", "expected": "c3.7", "value": "c5.2", "swapped": true, "op": 59},
 {"client": 6, "invoke": 140, "response": null, "f": "append", "key": "k2", "value": "c6.1"}
]}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
}

func TestReadPublicHistories(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(publicHistories, "*", "*"))
	if len(files) == 0 {
		t.Fatal("no public histories at " + publicHistories)
	}
	for _, f := range files {
		h, err := ReadHistory(f)
		if filepath.Base(f) == "etcd_095.log" {
			if err == nil {
				t.Errorf("%s is empty and should be rejected", f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		want := FormatEDN
		if strings.Contains(f, "jepsen") {
			want = FormatJepsenEtcd
		}
		if h.Format != want || len(h.Operations) == 0 {
			t.Errorf("%s: format %s with %d operations, want %s", f, h.Format, len(h.Operations), want)
		}
	}
}

// TestReadPendingAndFail checks how the log formats' outcomes map: :info and calls left
// open are pending, :fail on a write disappears, :fail on a cas did not swap.
func TestReadPendingAndFail(t *testing.T) {
	log := "INFO  jepsen.util - 0\t:invoke\t:write\t1\n" +
		"INFO  jepsen.util - 0\t:fail\t:write\t1\n" +
		"INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n" +
		"INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n" +
		"INFO  jepsen.util - 2\t:invoke\t:write\t3\n" +
		"INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n" +
		"INFO  jepsen.util - 3\t:invoke\t:read\tnil\n"
	h, err := ParseHistory("t.log", []byte(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []Operation{
		{Client: 1, Invoke: 3, Response: 4, Input: KVInput{Op: OpCAS, Expected: "1", Value: "2"}},
		{Client: 2, Invoke: 5, Pending: true, Input: KVInput{Op: OpPut, Value: "3"}},
		{Client: 3, Invoke: 7, Pending: true, Input: KVInput{Op: OpGet}},
	}
	if diff := cmp.Diff(want, h.Operations); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadMalformed(t *testing.T) {
	jepsen := func(lines ...string) string {
		for i, l := range lines {
			lines[i] = "INFO  jepsen.util - " + strings.ReplaceAll(l, " ", "\t")
		}
		return strings.Join(lines, "\n") + "\n"
	}
	cases := []struct{ name, data, want string }{
		{"empty", "", "bad: empty file"},
		{"blank", "\n  \n", "bad: empty file"},
		{"binary", "\x00\x01\x02garbage", "bad:1: binary data"},
		{"latin1", "\xff\xfe{}", "bad:1: binary data"},
		{"unknown format", "hello world\n", "bad:1: unrecognised history format"},
		{"truncated json", `{"format": "vsrsim-history/1", "model": "kv", "operations": [` + "\n" + ` {"client": 1, "inv`, "bad:2: unexpected end of file"},
		{"json garbage", "{\"format\": \"vsrsim-history/1\",\n nope}", "bad:2: invalid JSON"},
		{"json wrong format", `{"format": "other/2", "model": "kv", "operations": []}`, `bad:1: format "other/2"`},
		{"json no operations", `{"format": "vsrsim-history/1", "model": "kv"}`, `bad:1: no "operations"`},
		{"json bad model", `{"format": "vsrsim-history/1", "model": "queue", "operations": []}`, `bad:1: unknown model "queue"`},
		{"json unknown op", jsonOps(`{"client": 1, "invoke": 1, "response": 2, "f": "frob", "key": "k"}`), `bad:3: unknown operation "frob"`},
		{"json missing response", jsonOps(`{"client": 1, "invoke": 1, "f": "get", "key": "k", "output": ""}`), "bad:3: a get needs client, invoke, response and key"},
		{"json response first", jsonOps(`{"client": 1, "invoke": 5, "response": 2, "f": "put", "key": "k", "value": "v"}`), "bad:3: response 2 comes before invoke 5"},
		{"json get without output", jsonOps(`{"client": 1, "invoke": 1, "response": 2, "f": "get", "key": "k"}`), `bad:3: a get needs "output"`},
		{"json pending with output", jsonOps(`{"client": 1, "invoke": 1, "response": null, "f": "get", "key": "k", "output": "x"}`), `bad:3: a pending get has no "output"`},
		{"json cas without swapped", jsonOps(`{"client": 1, "invoke": 1, "response": 2, "f": "cas", "key": "k", "expected": "a", "value": "b"}`), `bad:3: a cas needs "swapped"`},
		{"json typo", jsonOps(`{"client": 1, "invoke": 1, "reponse": 2, "f": "put", "key": "k", "value": "v"}`), `bad:3: json: unknown field "reponse"`},
		{"json wrong type", jsonOps(`{"client": "one", "invoke": 1, "response": 2, "f": "put", "key": "k", "value": "v"}`), `bad:3: field "client"`},
		{"json trailing", `{"format": "vsrsim-history/1", "model": "kv", "operations": []} {}`, "bad:1: data after the end"},
		{"jepsen unknown op", jepsen("0 :invoke :frobnicate nil"), "bad:1: unknown operation \":frobnicate\""},
		{"jepsen garbage line", jepsen("0 :invoke :read nil") + "{{{\n", `bad:2: not a Jepsen etcd log line: "{{{"`},
		{"jepsen response without invoke", jepsen("0 :ok :read 3"), "bad:1: process 0 completes a get it never invoked"},
		{"jepsen invoke twice", jepsen("0 :invoke :read nil", "0 :invoke :read nil"), "bad:2: process 0 invokes again while its call from line 1"},
		{"jepsen mismatched completion", jepsen("0 :invoke :read nil", "0 :ok :write 3"), "bad:2: process 0 completes a put but invoked a get at line 1"},
		{"jepsen bad value", jepsen("0 :invoke :write x"), `bad:1: want an integer, not "x"`},
		{"jepsen bad cas", jepsen("0 :invoke :cas [1]"), "bad:1: a cas is invoked with [from to]"},
		{"jepsen changed write", jepsen("0 :invoke :write 1", "0 :ok :write 2"), "bad:2: put completes with"},
		{"edn unknown op", `{:process 0, :type :invoke, :f :frob, :key "k", :value nil}`, "bad:1: unknown operation"},
		{"edn unterminated", `{:process 0, :type :invoke, :f :put, :key "k, :value nil}`, "bad:1: value of \":key\": unterminated string"},
		{"edn response without invoke", `{:process 0, :type :ok, :f :get, :key "k", :value ""}`, "bad:1: process 0 completes a get it never invoked"},
		{"edn bad type", "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n{:process 0, :type :maybe, :f :get, :key \"k\", :value \"\"}", "bad:2: unknown :type"},
		{"edn not a map", "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n[1 2 3]", "bad:2: not an EDN map"},
		{"edn missing process", `{:type :invoke, :f :get, :key "k", :value nil}`, "bad:1: missing or non-integer :process"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseHistory("bad", []byte(c.data))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *ParseError", err, err)
			}
			if !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got  %q\nwant %q...", err.Error(), c.want)
			}
		})
	}
}

// jsonOps wraps one operation line as line 3 of a vsrsim JSON history.
func jsonOps(op string) string {
	return "{\"format\": \"vsrsim-history/1\", \"model\": \"kv\",\n\"operations\": [\n" + op + "\n]}\n"
}

// TestReadRandomBytesNeverPanics feeds random and mutated input to the reader: it must
// answer with a history or a ParseError, never panic.
func TestReadRandomBytesNeverPanics(t *testing.T) {
	seeds := [][]byte{}
	for _, f := range []string{"testdata/example.json", "testdata/pending-cas.log", "testdata/append.txt"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 3000; i++ {
		data := append([]byte(nil), seeds[i%len(seeds)]...)
		for k := rng.Intn(4); k >= 0; k-- {
			switch pos := rng.Intn(len(data)); rng.Intn(3) {
			case 0:
				data[pos] = byte(rng.Intn(256))
			case 1:
				data = data[:pos]
			default:
				data = append(data[:pos], data[pos+1:]...)
			}
			if len(data) == 0 {
				break
			}
		}
		h, err := ParseHistory("fuzz", data)
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("error %v is not a ParseError", err)
		}
		if err == nil {
			Check(h, Options{})
		}
	}
}

// FuzzParseHistory: any input reads as a history or a ParseError, never a panic; a history
// that reads is checked without panicking and survives a JSON round trip.
func FuzzParseHistory(f *testing.F) {
	for _, file := range []string{"example.json", "stale-read.json", "pending-cas.log", "append.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHistory("fuzz", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line ParseError", err)
			}
			return
		}
		Check(h, Options{Timeout: 50 * time.Millisecond})
		var buf bytes.Buffer
		if err := WriteHistoryJSON(&buf, h); err != nil {
			t.Fatal(err)
		}
		back, err := ParseHistory("again", buf.Bytes())
		if err != nil {
			t.Fatalf("reading back: %v\n%s", err, buf.String())
		}
		if diff := cmp.Diff(h.Operations, back.Operations, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
