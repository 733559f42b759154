package lincheck

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verdict is the outcome of a linearizability check.
type Verdict int

// The verdicts. Unknown means the check gave up at its time limit: it never guesses.
const (
	Unknown Verdict = iota
	Linearizable
	NotLinearizable
)

func (v Verdict) String() string {
	switch v {
	case Linearizable:
		return "linearizable"
	case NotLinearizable:
		return "not linearizable"
	}
	return "unknown"
}

// Strategy says which deciders Check may use. Tests and benchmarks pin one down.
type Strategy int

const (
	// StrategyAuto tries the fast path on each key and lets porcupine decide the keys the
	// fast path cannot.
	StrategyAuto Strategy = iota
	// StrategyPorcupine uses porcupine alone.
	StrategyPorcupine
	// StrategyFastOnly uses the fast path alone; a key it cannot decide makes the verdict
	// Unknown (unless another key is not linearizable).
	StrategyFastOnly
	// StrategySweepOnly uses the sweep alone (sweep.go).
	StrategySweepOnly
)

// The techniques, as Result.Method and Result.DecidedBy name them.
const (
	MethodFastPath  = "fast path"
	MethodSweep     = "sweep"
	MethodPorcupine = "porcupine"
)

// DefaultTimeout is the time limit when Options.Timeout is zero: the time issue 11 allows
// for registers of 50,000 operations whose values repeat (the slowest generated shape
// takes about 15 s on 2 cores).
const DefaultTimeout = 60 * time.Second

// Options tune Check.
type Options struct {
	// Model is the specification; empty means the one the history's format implies.
	Model ModelKind
	// Timeout bounds the sweep and porcupine's search: zero means DefaultTimeout, negative no
	// limit. The fast path is polynomial and not bounded.
	Timeout time.Duration
	// VisualizePath, if set, is where porcupine's HTML visualisation is written: of the key
	// that is not linearizable, or of every key.
	VisualizePath string
	Strategy      Strategy
}

// Result is the judgement on one history.
type Result struct {
	Verdict Verdict
	// Method says what decided: the technique that decided the key named in Key, or for a
	// linearizable history every technique that decided a key ("fast path", "sweep",
	// "porcupine", joined with "and"), or "none" for a history with nothing to check.
	Method string
	// DecidedBy counts the keys each technique decided.
	DecidedBy map[string]int
	// Key is the key that is not linearizable, or that could not be decided.
	Key string
	// Explanation is a few lines saying why: the operations around the point where no
	// linearization can be extended, or, for Unknown, why the check gave up.
	Explanation []string
	// Operations counts the operations checked; Keys the partitions; FastPathKeys,
	// SweepKeys and PorcupineKeys how many each decider settled.
	Operations, Keys, FastPathKeys, SweepKeys, PorcupineKeys int
	Elapsed                                                  time.Duration
	// Err is set, with verdict Unknown, when the history cannot be checked as asked: a
	// model that does not fit it, or a visualisation that could not be written.
	Err error
}

// part is one key's operations: the unit both deciders work on.
type part struct {
	key string
	ops []Operation
}

// partResult is one key's verdict and who gave it.
type partResult struct {
	verdict Verdict
	lines   []string
	method  string
	// window, when the sweep found the key not linearizable, is what no order explains.
	window *sweepWindow
}

// Check decides whether h is linearizable. Keys are independent in both models
// (the register has one), so each key is checked on its own, in parallel: first by the fast
// path, which decides in polynomial time what unique values pin down, then by porcupine's
// search under the time limit.
func Check(h *History, opts Options) Result {
	start := time.Now()
	c, err := newCheck(h, opts)
	if err != nil {
		return Result{Verdict: Unknown, Err: err, Elapsed: time.Since(start)}
	}
	res := c.run()
	if opts.VisualizePath != "" && res.Err == nil {
		res.Err = c.visualize(opts.VisualizePath, res)
	}
	res.Elapsed = time.Since(start)
	return res
}

// check is one run of Check.
type check struct {
	model    ModelKind
	opts     Options
	d        describer
	parts    []part
	ops      int
	deadline time.Time // zero: no limit
	// pendingAt is the return time porcupine is given for pending operations: after
	// every other event, so they may be linearized anywhere after their invocation.
	pendingAt int64
	// window is what the sweep found no order explains, if it decided the verdict.
	window *sweepWindow
}

func newCheck(h *History, opts Options) (*check, error) {
	model := opts.Model
	if model == "" {
		model = h.Model
	}
	if model == "" {
		model = ModelKV
	}
	if _, err := ParseModelKind(string(model)); err != nil {
		return nil, err
	}
	ops := h.Operations
	if model == ModelRegister {
		if err := checkRegisterHistory(h); err != nil {
			return nil, err
		}
		ops = canonicalRegister(ops)
	}
	c := &check{model: model, opts: opts, d: newDescriber(h, model)}
	c.parts, c.ops = partition(ops)
	for _, o := range ops {
		c.pendingAt = max(c.pendingAt, o.Invoke+1, o.Response+1)
	}
	switch {
	case opts.Timeout == 0:
		c.deadline = time.Now().Add(DefaultTimeout)
	case opts.Timeout > 0:
		c.deadline = time.Now().Add(opts.Timeout)
	}
	return c, nil
}

// canonicalRegister writes register values in canonical decimal, so that "07" and "7",
// equal as integers, are equal as strings too.
func canonicalRegister(ops []Operation) []Operation {
	canon := func(s string) string {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(n, 10)
		}
		return s
	}
	out := make([]Operation, len(ops))
	for i, o := range ops {
		o.Input.Value, o.Input.Expected, o.Output.Value = canon(o.Input.Value), canon(o.Input.Expected), canon(o.Output.Value)
		out[i] = o
	}
	return out
}

// partition groups operations by key, in key order, dropping pending gets: a read whose
// answer nobody saw constrains nothing. Counting first keeps a large history from being
// copied over and over as the slices grow.
func partition(ops []Operation) ([]part, int) {
	count := make(map[string]int)
	for _, o := range ops {
		if !(o.Pending && o.Input.Op == OpGet) {
			count[o.Input.Key]++
		}
	}
	parts := make([]part, 0, len(count))
	for key, n := range count {
		parts = append(parts, part{key: key, ops: make([]Operation, 0, n)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].key < parts[j].key })
	index := make(map[string]int, len(parts))
	for i, p := range parts {
		index[p.key] = i
	}
	n := 0
	for _, o := range ops {
		if !(o.Pending && o.Input.Op == OpGet) {
			p := &parts[index[o.Input.Key]]
			p.ops = append(p.ops, o)
			n++
		}
	}
	return parts, n
}

// run decides every part and combines the verdicts: one key that is not linearizable makes
// the history not linearizable; otherwise one undecided key makes it unknown.
func (c *check) run() Result {
	results := make([]partResult, len(c.parts))
	st := c.opts.Strategy
	if st == StrategyAuto || st == StrategyFastOnly {
		parallel(len(c.parts), func(i int) {
			out := checkFast(c.parts[i].ops, c.d)
			results[i] = partResult{verdict: out.verdict, lines: out.lines, method: MethodFastPath}
		})
	}
	if firstWith(results, NotLinearizable) < 0 && (st == StrategyAuto || st == StrategySweepOnly) {
		c.runSweep(results)
	}
	if firstWith(results, NotLinearizable) < 0 && (st == StrategyAuto || st == StrategyPorcupine) {
		c.runPorcupine(results)
	}
	return c.combine(results)
}

func firstWith(results []partResult, v Verdict) int {
	for i, r := range results {
		if r.verdict == v {
			return i
		}
	}
	return -1
}

// combine turns per-key results into the history's result.
func (c *check) combine(results []partResult) Result {
	res := Result{Verdict: Linearizable, Operations: c.ops, Keys: len(c.parts), DecidedBy: map[string]int{}}
	methods := map[string]bool{}
	for _, r := range results {
		if r.verdict == Unknown {
			continue
		}
		methods[r.method] = true
		res.DecidedBy[r.method]++
		switch r.method {
		case MethodFastPath:
			res.FastPathKeys++
		case MethodSweep:
			res.SweepKeys++
		default:
			res.PorcupineKeys++
		}
	}
	res.Method = methodName(methods)
	for _, v := range []Verdict{NotLinearizable, Unknown} {
		if i := firstWith(results, v); i >= 0 {
			res.Verdict, res.Key, res.Method = v, c.parts[i].key, results[i].method
			c.window = results[i].window
			res.Explanation = c.explain(c.parts[i], results[i])
			break
		}
	}
	return res
}

// methodName joins the techniques that decided, in the order they run.
func methodName(methods map[string]bool) string {
	var names []string
	for _, m := range []string{MethodFastPath, MethodSweep, MethodPorcupine} {
		if methods[m] {
			names = append(names, m)
		}
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// explain prefixes a part's lines with the key they are about.
func (c *check) explain(p part, r partResult) []string {
	head := fmt.Sprintf("key %q (%d operations):", p.key, len(p.ops))
	if c.model == ModelRegister {
		head = fmt.Sprintf("the register (%d operations):", len(p.ops))
	}
	lines := []string{head}
	for _, l := range r.lines {
		lines = append(lines, "  "+l)
	}
	return lines
}

// runUndecided runs one technique, in parallel, on every part the techniques before it left
// undecided (decide(i) judges part i). A part it does not decide either keeps why the
// earlier techniques gave up, before its own reasons.
func runUndecided(results []partResult, decide func(i int) partResult) {
	var todo []int
	for i, r := range results {
		if r.verdict == Unknown {
			todo = append(todo, i)
		}
	}
	parallel(len(todo), func(k int) {
		i := todo[k]
		earlier := results[i].lines
		results[i] = decide(i)
		if results[i].verdict == Unknown {
			results[i].lines = append(earlier, results[i].lines...)
		}
	})
}

// parallel calls fn(0..n-1) on as many goroutines as there are CPUs.
func parallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
