// Package checker holds vsrsim's judgement of a run: the invariants checked on every tick
// (one history, no phantoms, convergence, durability: commits.go), the independent model of
// the client table and the key-value store (model.go), and the check of each reply and of
// the whole client history's real-time order against the commit order (witness.go). A
// checker sees everything and trusts nothing the code under test says about itself; it
// returns violations rather than taking a *testing.T, so that go test and cmd/vsrsim share it.
//
// Client histories, the key-value specification and the judging of histories read from
// files (linearizability without a commit order to lean on) are package lincheck's job;
// history.go here keeps aliases of the names sim/ uses.
package checker
