package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vsrsim/vsrsim/entropy"
)

// Signature is what a failure is, as the shrinker keeps it: the verdict and the invariant
// that broke (or where the code panicked); ticks, ops and views may change as the input
// shrinks.
func (r *Result) Signature() string {
	switch r.Verdict {
	case VerdictCorrectness:
		return "correctness: " + r.Invariant
	case VerdictCrash:
		return "crash: " + digits.ReplaceAllString(r.Failure, "#")
	}
	return r.Verdict.String()
}

var digits = regexp.MustCompile(`[0-9]+`)

// ShrinkReport is what a shrink found: the smaller input, and the runs before and after.
type ShrinkReport struct {
	Config RunConfig
	Before Result
	After  Result
	Runs   int
}

// Shrink searches for a smaller input that fails like config does (same Signature):
// fault classes switched off, the safety phase cut at the failure, fewer requests, clients
// and replicas, lower fault rates, a shorter choice stream. It is greedy: every reduction
// that keeps the failure is kept, until none helps or the budget of runs is spent.
func Shrink(config RunConfig, budget int, progress func(string)) (ShrinkReport, error) {
	before, err := Run(config)
	if err != nil {
		return ShrinkReport{}, err
	}
	if before.Verdict == VerdictPass {
		return ShrinkReport{}, fmt.Errorf("seed %s passes: nothing to shrink", config.Seed)
	}
	s := shrinker{config: config, best: before, signature: before.Signature(), budget: budget - 1, progress: progress}
	for improved := true; improved && s.budget > 0; {
		improved = s.pass()
	}
	return ShrinkReport{Config: s.config, Before: before, After: s.best, Runs: budget - s.budget}, nil
}

type shrinker struct {
	config    RunConfig
	best      Result
	signature string
	budget    int
	progress  func(string)
}

// try runs a candidate and keeps it if it fails the same way. A candidate that changes
// nothing is not run.
func (s *shrinker) try(what string, candidate RunConfig) bool {
	if s.budget <= 0 || s.same(candidate) {
		return false
	}
	s.budget--
	r, err := Run(candidate)
	if err != nil || r.Signature() != s.signature {
		return false
	}
	s.config, s.best = candidate, r
	if s.progress != nil {
		s.progress(fmt.Sprintf("%s: still %s, %d ticks", what, s.signature, r.Ticks))
	}
	return true
}

// same reports whether a candidate is the current input: same options, same stream.
func (s *shrinker) same(candidate RunConfig) bool {
	options, _, err := Prepare(candidate)
	if err != nil {
		return true // not a valid input: nothing to try
	}
	return len(options.Diff(&s.best.Options)) == 0 && string(candidate.Entropy) == string(s.config.Entropy)
}

// with returns the current config with overrides added; a later one replaces an earlier
// one of the same name, so the list stays the set of knobs that differ.
func (s *shrinker) with(overrides ...Override) RunConfig {
	c := s.config
	c.Overrides = nil
	for _, o := range s.config.Overrides {
		replaced := false
		for _, n := range overrides {
			replaced = replaced || n.Name == o.Name
		}
		if !replaced {
			c.Overrides = append(c.Overrides, o)
		}
	}
	c.Overrides = append(c.Overrides, overrides...)
	return c
}

func (s *shrinker) pass() bool {
	improved := false
	for _, class := range classesOn(&s.best.Options) {
		improved = s.try("no "+faultClassNames[class], s.with(classOff(class)...)) || improved
	}
	if s.best.Verdict != VerdictLiveness && s.best.Ticks < s.best.Options.TicksMax {
		improved = s.try("safety phase cut at the failure", s.with(Override{"ticksMax", strconv.FormatUint(s.best.Ticks, 10)})) || improved
	}
	improved = s.halve("requests", func(o *Options) uint64 { return uint64(o.Requests) }) || improved
	improved = s.halve("clients", func(o *Options) uint64 { return uint64(o.Clients) }) || improved
	if o := &s.best.Options; o.Replicas > 1 {
		improved = s.try("fewer replicas", s.with(Override{"replicas", strconv.Itoa(o.Replicas - 1)})) || improved
	}
	var names []string
	for _, k := range s.best.Options.knobs() {
		if k.class != classNone && k.class != classCapacity {
			names = append(names, k.name)
		}
	}
	for _, name := range names {
		k := findKnob(s.best.Options.knobs(), name) // the value now, after what this pass kept
		if lower, ok := halved(k.text()); ok {
			improved = s.try("lower "+name, s.with(Override{name, lower})) || improved
		}
	}
	if s.config.Entropy != nil {
		improved = s.shrinkStream() || improved
	}
	return improved
}

// halve tries halving a count, down to 1, while the failure holds.
func (s *shrinker) halve(name string, value func(o *Options) uint64) bool {
	improved := false
	for v := value(&s.best.Options); v/2 >= 1; v = value(&s.best.Options) {
		if !s.try("fewer "+name, s.with(Override{name, strconv.FormatUint(v/2, 10)})) {
			break
		}
		improved = true
	}
	return improved
}

// halved halves a knob's value: a count, a duration, or a probability's numerator.
func halved(text string) (string, bool) {
	if n, err := strconv.ParseUint(text, 10, 64); err == nil && n > 1 {
		return strconv.FormatUint(n/2, 10), true
	}
	if p, err := entropy.ParseRatio(text); err == nil && p.Num > 1 && strings.Contains(text, "/") {
		return entropy.Ratio{Num: p.Num / 2, Den: p.Den}.String(), true
	}
	return "", false
}

// shrinkStream cuts a choice stream short (an exhausted stream draws zeros: the simplest
// choices) and zeroes chunks of it.
func (s *shrinker) shrinkStream() bool {
	improved := false
	for len(s.config.Entropy) > 1 {
		c := s.config
		c.Entropy = s.config.Entropy[:len(s.config.Entropy)/2]
		if !s.try(fmt.Sprintf("stream cut to %d bytes", len(c.Entropy)), c) {
			break
		}
		improved = true
	}
	for chunk := len(s.config.Entropy) / 4; chunk >= 8; chunk /= 2 {
		for at := 0; at+chunk <= len(s.config.Entropy); at += chunk {
			c := s.config
			c.Entropy = append([]byte(nil), s.config.Entropy...)
			zero := true
			for i := at; i < at+chunk; i++ {
				zero = zero && c.Entropy[i] == 0
				c.Entropy[i] = 0
			}
			if !zero {
				improved = s.try(fmt.Sprintf("stream bytes %d-%d zeroed", at, at+chunk), c) || improved
			}
		}
	}
	return improved
}

// classesOn lists the fault classes whose knobs are not all off.
func classesOn(o *Options) []faultClass {
	var classes []faultClass
	for _, f := range faultCounts {
		if f.enabled(o) {
			classes = append(classes, f.class)
		}
	}
	return classes
}

// classOff returns the overrides that switch a fault class off.
func classOff(class faultClass) []Override {
	var off Options
	var overrides []Override
	for _, k := range off.knobs() {
		if k.class == class {
			k.off()
			overrides = append(overrides, Override{Name: k.name, Value: k.text()})
		}
	}
	return overrides
}
