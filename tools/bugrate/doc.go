// Command bugrate measures how fast FuzzCluster finds the planted bugs of core/bugs.go,
// against the swarm: for each bug, K attempts each, the wall time to the first failure,
// and from those bugs found per minute of search.
//
//	go run ./tools/bugrate                       # every bug, 3 attempts, 3 minutes at most each
//	go run ./tools/bugrate -k 5 -cap 5m -bugs commit-without-quorum,shortest-log
//
// An attempt of the fuzzer runs, from the module's root,
//
//	VSRSIM_FUZZ_BUG=NAME VSRSIM_FUZZ_SEED=<random> \
//	  go test ./sim -run '^$' -fuzz '^FuzzCluster$' -fuzztime CAP -test.fuzzcachedir=<fresh>
//
// in a fresh fuzz cache, so that no attempt starts from inputs an earlier one found, and
// with a random seed, so that no two attempts run the same inputs. The time is from the
// start of `go test` to the report of the failure, with the test binary already built (a
// warm-up run builds it first): it includes starting the fuzzing engine and its workers and
// running the seed corpus, as a user would wait for them. A failing input the fuzzer writes
// to sim/testdata/fuzz/FuzzCluster is removed as soon as the attempt ends.
//
// An attempt of the swarm runs the seeds that
//
//	vsrsim swarm --bug NAME --first-seed <random> --workers 2
//
// runs, in this process, with two workers, until the first failing seed; the time is from
// the first seed to that failure.
//
// An attempt that finds nothing within the cap counts as the cap. Bugs per minute is failures
// found over minutes of search, all attempts of a bug together: the rate of an exponential
// waiting time, which an attempt stopped at the cap does not bias. Fuzzer and swarm run one
// after the other, never at once, and each uses two workers; the machine's load is printed
// with the table, since other work on the machine slows both.
//
// Before measuring, the tool checks that the tree passes without a planted bug (a few swarm
// seeds, and FuzzCluster's seed corpus as a test), or a failure of the tree itself would be
// counted as a find.
package main
