package sim

import "testing"

// FuzzCluster drives whole-cluster simulations from the fuzzer's bytes: they replace the
// seed's random streams, so every decision (the options, delays, faults, the workload) is
// the fuzzer's to steer, with coverage guiding it towards code the swarm rarely reaches.
// A run that does not pass is a finding; `vsrsim shrink` on a corpus entry with the input
// as its "entropy" makes it small.
//
//	go test ./sim -run '^$' -fuzz '^FuzzCluster$' -fuzztime 5m
func FuzzCluster(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("vsrsim: a fuzzer's bytes steer the whole cluster"))
	f.Add([]byte{0xff, 0x10, 0x80, 0x01, 0x7f, 0x33, 0xc0, 0x05, 0x99, 0x42, 0xfe, 0x00, 0x11, 0x22, 0x33, 0x44,
		0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return // longer streams add nothing the first kilobytes do not
		}
		// Short runs: many inputs a second, and none long enough for the fuzzing engine to
		// give up on its worker at the end of -fuzztime.
		r, err := Run(RunConfig{Seed: "fuzz", Entropy: data, Overrides: []Override{
			{Name: "requests", Value: "48"}, {Name: "ticksMax", Value: "30000"}, {Name: "livenessTicksMax", Value: "10000"}}})
		if err != nil {
			t.Fatalf("options drawn from bytes are invalid: %v", err)
		}
		if r.Verdict != VerdictPass {
			t.Fatalf("%v: %s", r.Verdict, r.Failure)
		}
	})
}
