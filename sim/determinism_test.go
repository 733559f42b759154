package sim

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/core"
)

// TestSameSeedSameTrace runs seeds twice and compares trace hashes; one of the runs writes
// the text trace and streams status lines, which must not change the hash. CI runs this
// test on amd64, 386 and with -race and compares the hashes it prints across them.
func TestSameSeedSameTrace(t *testing.T) {
	for _, seed := range []string{"1", "7", "42", "0123456789abcdef0123456789abcdef01234567"} {
		var text bytes.Buffer
		a := mustRun(t, RunConfig{Seed: seed, Trace: &text, Verbose: io.Discard})
		b := mustRun(t, RunConfig{Seed: seed})
		if a.TraceHash != b.TraceHash || a.Stats.TraceEvents != b.Stats.TraceEvents || a.Ticks != b.Ticks {
			t.Fatalf("seed %s: %s (%d events, %d ticks) then %s (%d events, %d ticks)", seed,
				a.TraceHash, a.Stats.TraceEvents, a.Ticks, b.TraceHash, b.Stats.TraceEvents, b.Ticks)
		}
		if text.Len() == 0 {
			t.Fatalf("seed %s: no text trace written", seed)
		}
		t.Logf("seed %s trace_hash %s", seed, a.TraceHash)
	}
	if mustRun(t, RunConfig{Seed: "1"}).TraceHash == mustRun(t, RunConfig{Seed: "2"}).TraceHash {
		t.Fatal("seeds 1 and 2 gave the same trace hash")
	}
}

// TestBytesDriveARun shows a byte string standing in for the seed: the same bytes give the
// same run, and no bytes at all (every draw zero) give the simplest run, with no faults.
func TestBytesDriveARun(t *testing.T) {
	data := []byte("a fuzzer's input steers every decision of the run, in call order")
	a := mustRun(t, RunConfig{Seed: "bytes", Entropy: data})
	b := mustRun(t, RunConfig{Seed: "bytes", Entropy: data})
	if a.TraceHash != b.TraceHash {
		t.Fatalf("same bytes, different runs: %s vs %s", a.TraceHash, b.TraceHash)
	}
	empty := mustRun(t, RunConfig{Seed: "bytes", Entropy: []byte{}})
	n := empty.Stats.Network
	if n.Dropped+n.Duplicated+n.Corrupted+n.Misrouted+n.Partitions+n.Clogs+empty.Stats.Crashes != 0 {
		t.Fatalf("an all-zero stream injected faults: %+v", empty.Stats)
	}
}

func mustRun(t *testing.T, config RunConfig) Result {
	t.Helper()
	r, err := Run(config)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictPass {
		t.Fatalf("seed %s: %v: %s", config.Seed, r.Verdict, r.Failure)
	}
	return r
}

// divergentKV is the reference store except on one replica, where an append also doubles
// its value once the value is long enough: a planted bug the checkers must catch.
type divergentKV struct {
	*core.KV
	broken bool
}

func (d *divergentKV) Apply(op core.Op, timestamp uint64, input []byte, output []byte) []byte {
	in, err := core.DecodeKV(input)
	if d.broken && err == nil && in.Op == core.KVAppend && len(d.Get(in.Key)) > 10 {
		d.KV.Apply(op, timestamp, input, nil)
	}
	return d.KV.Apply(op, timestamp, input, output)
}

func TestPluggedStateMachineDivergenceIsCaught(t *testing.T) {
	r, err := Run(RunConfig{Seed: "5", Profile: ProfileCalm, StateMachine: func(replica int) core.StateMachine {
		return &divergentKV{KV: core.NewKV(), broken: replica == 1}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictCorrectness || !strings.Contains(r.Failure, "convergence") {
		t.Fatalf("a replica whose state machine diverges: %v %q", r.Verdict, r.Failure)
	}
	t.Log(r.Failure)
}
