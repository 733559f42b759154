// Command mutate measures the checkers: it makes first-order mutants of core/ (one token
// changed), runs the swarm on each, and reports which mutants a failing seed killed and
// which survived. A survivor is either harmless (equivalent, or slower only), reachable only
// by input the simulator cannot produce, or a bug the checkers miss.
//
//	go run ./tools/mutate --list                                # every site, one a line
//	go run ./tools/mutate --mutants 60 --seed 1 --json out.json # a sample of 60
//	go run ./tools/mutate --sites primary.go:252                # every mutant of one line
//	go run ./tools/mutate --sites 'primary.go:252:56:>=→<' --seeds 20 -- --replicas 3
//
// # The loop
//
// At the start the tool reads every .go file of the module (the working tree's, or with
// --rev those of a git revision) and enumerates core/'s mutation sites with go/ast and
// go/types. It builds the unmutated snapshot and runs the swarm on it: every seed must pass,
// or no mutant could be judged by those seeds. Then, for each chosen site, it writes the
// mutated file into a temporary directory and builds the command with
//
//	go build -overlay overlay.json -o <tmp>/vsrsim ./cmd/vsrsim
//
// where the overlay maps every file of the module to its snapshot (and hides .go files
// created since): the tree is never copied or touched, and a run measures one version of
// the replicas and the checkers even while others edit them. Then it runs
//
//	<tmp>/vsrsim swarm --seeds N --first-seed F --workers W --json [--requests R] [-- flags]
//
// under a time limit (--timeout, by default ten times the baseline's swarm, at least 2m)
// and a memory limit (--memory-mb, by `ulimit -d`: the machine is shared, and a mutant can
// allocate without end). The N seeds run in chunks of --chunk seeds, one swarm process
// each, and a mutant stops at its first chunk with a failing seed: the first failing seed
// is the one a single swarm would report, and a mutant that fails every seed slowly (a
// liveness failure runs to its bound) costs one chunk instead of N seeds. --chunk 0 runs
// the N seeds in one swarm.
//
// # Verdicts
//
//   - killed: some seed failed. The record keeps the first failing seed, its verdict
//     (correctness, liveness, crash) and failure line, and what broke in a few words (the
//     checker's invariant, the assertion's place, the kind of panic). A simulator that dies
//     outside any seed (a fatal runtime error: stack overflow, out of memory) is killed by
//     "process".
//   - timeout: the swarm outlived its time limit; counted as killed (a hang is a failure).
//   - survived: every seed passed. With --tests, `go test ./core` then runs against the
//     survivor and its outcome is reported beside the verdict, not in the score.
//   - stillborn: the mutant does not compile; reported, not counted.
//   - error: the tool could not judge the mutant (a build broken outside the mutated file);
//     reported, not counted.
//
// The score is killed / (killed + survived). Progress goes to stderr as mutants finish,
// then a table and the score; --json writes every record (rewritten after each mutant, so
// a stopped run keeps what it measured), with the commit and the swarm's command line, so a
// result can be kept under testdata/ or cited, and the same mutants run again with --sites.
//
// # What is mutated
//
// A site is one token; its id is file:line:col:old→new (column in bytes, as the compiler
// counts; "->" is accepted for "→" on input; an empty new side removes the token).
//
//   - relational: each comparison to its boundary neighbour and its negation: < to <= and
//     >=, <= to < and >, > to >= and <=, >= to > and <, == to !=, != to ==.
//   - logical: && to ||, || to &&, and a ! removed.
//   - off-by-one: an integer literal that is an operand of arithmetic (+ - * / %) or of a
//     comparison becomes k+1 and k−1 (not below zero: most counts are unsigned), so n+1
//     becomes n+2 and n+0; and + and - swap where the operands are integers.
//
// Not mutated: compound assignments (+=) and ++/--, shifts and masks (a literal there is a
// bit position or a field layout, not a count), and other arithmetic operators.
//
// # What is excluded, and why
//
//   - core/bugs.go: the deliberate bugs are mutants by design. So are the guards that switch
//     them on: an expression conjoined with the replica's bug(...) call, and the body of an
//     if it guards, run only with --bug.
//   - core/assert.go: a mutant of the assertion machinery only silences every assertion
//     (equivalent on correct code) or fires every one (killed at once), whatever the
//     checkers do.
//   - conditions that guard only a panic or an assertion (an if or a switch case whose body
//     is nothing but panic or assert calls, and loops made only of those), and the
//     arguments of assert and panic: the same reason, one check at a time. The replica's
//     checks are measured by the tests of core/, not by this tool.
//   - code that only renders text: core/describe.go, String and Error methods, and the
//     arguments of fmt's and errors' functions and of printf-like wrappers (a format string
//     then ...any). A trace line that reads wrong is not a protocol bug.
//   - constant declarations and array lengths: a constant's value moves every use alike
//     (an enumeration code, a wire offset, a table size), so a mutant there either fails to
//     compile (1<<iota overflowing, a negative array length) or changes a table's shape,
//     not the protocol's logic.
//
// # Sampling
//
// --mutants N draws N sites without replacement from --seed S with math/rand/v2's PCG
// (this is a tool, not simulated code) and runs them in file order. The draw is
// deterministic for a seed and a site list; a change to core/ changes the list, so a
// comparison across changes reruns the recorded ids with --sites where they still exist.
//
// Exit codes: 0 the run finished (survivors are results, not errors), 1 the tool failed or
// the unmutated code fails a seed already, 2 bad input (a flag, a site id, a swarm flag).
package main
