package sim

//go:generate go run coverage_cases_gen.go

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// FuzzCluster runs whole clusters from the fuzzer's bytes. Each input is a steered run
// (entropy.FromSteering): the run of a seed mixed with the bytes, whose first decisions the
// bytes make, one byte each. The first decisions are the run's options, so the bytes choose
// the cluster, the fault classes and their rates, and every input, however short, is a full
// run with faults. Coverage guidance sees the protocol's situations (coverage.go), each
// mapped onto a branch of its own (coverage_cases_test.go), as well as Go's branches: an
// input that brings the cluster into a situation no input had is kept and mutated.
//
// A failure prints a corpus entry that replays it (`vsrsim replay`, `vsrsim shrink`).
//
//	go test ./sim -run '^$' -fuzz '^FuzzCluster$' -fuzztime 5m
//
// The environment steers it further:
//
//	VSRSIM_FUZZ_BUG=NAME         build the replicas with planted bugs (core/bugs.go), to
//	                             measure the fuzzer (tools/bugrate)
//	VSRSIM_FUZZ_SEED=N           the seed every input is mixed with (default 0)
//	VSRSIM_FUZZ_COVERAGE=off     no protocol signal: Go's branches only, to measure it
//	VSRSIM_FUZZ_SIGNATURES=FILE  append each signature new to a worker, with the time
func FuzzCluster(f *testing.F) {
	fuzz, err := newClusterFuzzer()
	if err != nil {
		f.Fatal(err)
	}
	withoutMinimizing()
	// The seed's own run, and runs of three and five replicas (the first byte steers the
	// cluster's size): short inputs, so the fuzzer starts from random configurations, as
	// the swarm does, and pins a knob only as a mutant that coverage kept grows to steer it.
	// Whole configurations as seeds measured worse: their mutants stay near three
	// configurations and reach fewer situations. (Nor a text or zeros: bytes below 0x80
	// switch the fault classes off, some 35 draws in, for calm runs.)
	f.Add([]byte{})
	f.Add([]byte{0x60})
	f.Add([]byte{0xc0})
	f.Fuzz(fuzz.run)
}

// steerBytesMax bounds the steering: the options (DrawOptions draws about 50) and the
// setup after them. Later bytes would steer the first packets' delays, which matter less
// than a fresh run.
const steerBytesMax = 96

// Each input's run is bounded so that none is slow. The fuzzing engine takes an input
// that runs for ten seconds for a hung worker and fails the whole fuzzing run, and the
// coverage instrumentation makes a run three times slower than in the swarm, so even the
// slowest inputs must take well under a second of CPU: on a busy machine a worker gets a
// fraction of a core. The swarm's slow runs are of three kinds, each bounded here:
//
//   - long runs (one seed in 32 multiplies the requests): requests stay at most 256, the
//     top of the usual draw;
//   - runs whose faults keep the workload going for a long time: the safety phase of a
//     swarm run takes a median 6,700 ticks, but a tail reaches the bound of 200,000; here
//     the bound is 20,000, past the end of four runs in five (the liveness phase then
//     serves what is left, without faults);
//   - long pauses under heavy traffic: simnet holds every packet for a paused replica in
//     its queue and takes it out and puts it back every tick of the pause, which made
//     runs of one to three seconds; pauses last 250 ticks on average at most (the swarm
//     draws up to 1,000), still twice a backup's patience with a silent primary.
//
// The corner where every knob is at its top then takes 0.6 s of CPU instrumented. The
// price is depth: a bug that needs many view changes needs long runs, and at 40,000 ticks
// the fuzzer found one four times sooner (commit-without-quorum planted only in views 3,
// 7, 11, ... of 5-replica clusters), but there its slowest inputs, six replicas and half
// the packets duplicated, took over a second of CPU, and ten seconds on a loaded machine.
const (
	fuzzRequestsMax       = 256
	fuzzTicksMax          = 20_000
	fuzzPauseMeanTicksMax = 250
)

type clusterFuzzer struct {
	seed     string
	bugs     core.Bug
	coverage func(signature uint64)
}

func newClusterFuzzer() (*clusterFuzzer, error) {
	z := &clusterFuzzer{seed: "0"}
	var err error
	if z.bugs, err = core.ParseBugs(os.Getenv("VSRSIM_FUZZ_BUG")); err != nil {
		return nil, fmt.Errorf("VSRSIM_FUZZ_BUG: %v", err)
	}
	if seed := os.Getenv("VSRSIM_FUZZ_SEED"); seed != "" {
		if _, err := entropy.ParseSeed(seed); err != nil {
			return nil, fmt.Errorf("VSRSIM_FUZZ_SEED: %v", err)
		}
		z.seed = seed
	}
	branches := os.Getenv("VSRSIM_FUZZ_COVERAGE") != "off"
	log, err := openSignatureLog(os.Getenv("VSRSIM_FUZZ_SIGNATURES"))
	if err != nil {
		return nil, err
	}
	if branches || log != nil {
		z.coverage = func(signature uint64) {
			if branches {
				signatureBranch(mixSignature(signature) % signatureCases)
			}
			if log != nil {
				log.note(signature)
			}
		}
	}
	return z, nil
}

// withoutMinimizing switches off the minimisation of new inputs, unless the command line
// asked for it. The engine minimises an input by running it again with bytes cut, thousands
// of times, for up to a minute by default, and each time it does so with both workers the
// fuzzer runs nothing; and a cut steered input is another run altogether, so what it finds
// is not the same input made smaller. `vsrsim shrink` makes a failure small instead.
func withoutMinimizing() {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set && flag.Lookup("test.fuzzminimizetime") != nil {
		if err := flag.Set("test.fuzzminimizetime", "0"); err != nil {
			panic(err)
		}
	}
}

func (z *clusterFuzzer) run(t *testing.T, steer []byte) {
	config, err := z.config(steer)
	if err != nil {
		t.Fatalf("options drawn from bytes are invalid: %v", err)
	}
	r, err := Run(config)
	if err != nil {
		t.Fatalf("options drawn from bytes are invalid: %v", err)
	}
	if r.Verdict != VerdictPass {
		t.Fatalf("%v: %s\n%s", r.Verdict, r.Failure, z.entry(&config, &r))
	}
}

// config is the run of an input: steered, bounded, with the fuzzer's bugs and coverage.
func (z *clusterFuzzer) config(steer []byte) (RunConfig, error) {
	steer = steer[:min(len(steer), steerBytesMax)]
	config := RunConfig{Seed: z.seed, Entropy: steer, EntropyMode: entropy.ModeSteer, Bugs: z.bugs}
	options, _, err := Prepare(config)
	if err != nil {
		return config, err
	}
	if options.Requests > fuzzRequestsMax {
		config.Overrides = append(config.Overrides,
			Override{"requests", fmt.Sprint(fuzzRequestsMax)})
	}
	if options.TicksMax > fuzzTicksMax {
		config.Overrides = append(config.Overrides,
			Override{"ticksMax", fmt.Sprint(fuzzTicksMax)})
	}
	if options.PauseMeanTicks > fuzzPauseMeanTicksMax {
		config.Overrides = append(config.Overrides,
			Override{"pauseMeanTicks", fmt.Sprint(fuzzPauseMeanTicksMax)})
	}
	config.Coverage = z.coverage
	return config, nil
}

// entry is the corpus entry that replays a failing input, for seeds/ once the bug is fixed.
func (z *clusterFuzzer) entry(config *RunConfig, r *Result) string {
	e := CorpusEntry{Seed: config.Seed, Options: map[string]string{},
		Stream:  config.EntropyMode.String(),
		Entropy: base64.StdEncoding.EncodeToString(config.Entropy), Bugs: config.Bugs.String(),
		Expect: r.Verdict.String(), Failure: r.Invariant,
		Found: time.Now().UTC().Format("2006-01-02") + " by FuzzCluster"}
	for _, o := range config.Overrides {
		e.Options[o.Name] = o.Value
	}
	text, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("corpus entry (save as FILE.json; vsrsim replay FILE.json; "+
		"vsrsim shrink FILE.json):\n%s", text)
}

// mixSignature spreads a signature's bits (SplitMix64's finaliser), so that signatures
// that differ in one field land on unrelated branches.
func mixSignature(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// signatureLog appends "unix-nanoseconds signature" for every signature the first time
// this process reaches it: the fuzzer's workers are processes, so the union of the lines
// over time is what the fuzzer as a whole reached.
type signatureLog struct {
	mu   sync.Mutex
	file *os.File
	seen map[uint64]bool
}

func openSignatureLog(path string) (*signatureLog, error) {
	if path == "" {
		return nil, nil
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("VSRSIM_FUZZ_SIGNATURES: %v", err)
	}
	return &signatureLog{file: file, seen: map[uint64]bool{}}, nil
}

func (l *signatureLog) note(signature uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[signature] {
		return
	}
	l.seen[signature] = true
	fmt.Fprintf(l.file, "%d %d\n", time.Now().UnixNano(), signature)
}
