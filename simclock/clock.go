package simclock

import "fmt"

// Tick counts simulated time from the start of a run.
type Tick uint64

// TickNanos is the length of one tick: 10 ms.
const TickNanos = 10_000_000

// EpochNanos is true time at tick 0: 2026-01-01T00:00:00Z in Unix nanoseconds.
const EpochNanos int64 = 1_767_225_600_000_000_000

// Limits validated by Options.Validate; they keep every offset far from overflow.
const (
	SkewMaxNanos = 60 * 1_000_000_000  // ±60 s
	DriftMaxPPM  = 10_000              // ±1 %
	JumpMaxNanos = 600 * 1_000_000_000 // ±10 min
)

// Options of one process's clock.
type Options struct {
	SkewNanos int64 // wall clock offset from true time at tick 0
	DriftPPM  int64 // oscillator error in parts per million (both clocks)
	JumpTick  Tick  // tick at which the wall clock steps; 0: never
	JumpNanos int64 // size of the step, forwards (>0) or backwards (<0)
}

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case o.SkewNanos < -SkewMaxNanos || o.SkewNanos > SkewMaxNanos:
		return fmt.Errorf("clock skew %d ns outside ±%d ns", o.SkewNanos, int64(SkewMaxNanos))
	case o.DriftPPM < -DriftMaxPPM || o.DriftPPM > DriftMaxPPM:
		return fmt.Errorf("clock drift %d ppm outside ±%d ppm", o.DriftPPM, DriftMaxPPM)
	case o.JumpNanos < -JumpMaxNanos || o.JumpNanos > JumpMaxNanos:
		return fmt.Errorf("clock jump %d ns outside ±%d ns", o.JumpNanos, int64(JumpMaxNanos))
	case o.JumpTick == 0 && o.JumpNanos != 0:
		return fmt.Errorf("clock jump of %d ns has no tick", o.JumpNanos)
	}
	return nil
}

// Clock is one process's view of time.
type Clock struct {
	options Options
}

// New returns a clock; the options must be valid.
func New(options Options) *Clock {
	if err := options.Validate(); err != nil {
		panic(err)
	}
	return &Clock{options: options}
}

// Options returns the clock's options.
func (c *Clock) Options() Options { return c.options }

// elapsedNanos is true time since tick 0 as this clock's oscillator measures it.
func (c *Clock) elapsedNanos(now Tick) int64 {
	elapsed := int64(now) * TickNanos
	// Split to keep drift·elapsed inside int64 for runs of centuries.
	seconds, rest := elapsed/1_000_000_000, elapsed%1_000_000_000
	drift := seconds*c.options.DriftPPM*1_000 + rest*c.options.DriftPPM/1_000_000
	return elapsed + drift
}

// Monotonic returns nanoseconds on a clock that never jumps and never goes backwards.
func (c *Clock) Monotonic(now Tick) int64 { return c.elapsedNanos(now) }

// Realtime returns the wall clock in Unix nanoseconds.
func (c *Clock) Realtime(now Tick) int64 {
	return EpochNanos + int64(now)*TickNanos + c.OffsetNanos(now)
}

func (c *Clock) driftNanos(now Tick) int64 { return c.elapsedNanos(now) - int64(now)*TickNanos }

// OffsetNanos is how far the wall clock is from true time at a tick.
func (c *Clock) OffsetNanos(now Tick) int64 {
	offset := c.options.SkewNanos + c.driftNanos(now)
	if c.options.JumpTick != 0 && now >= c.options.JumpTick {
		offset += c.options.JumpNanos
	}
	return offset
}

// Jumped reports whether the wall clock has stepped by tick now.
func (c *Clock) Jumped(now Tick) bool {
	return c.options.JumpTick != 0 && c.options.JumpNanos != 0 && now >= c.options.JumpTick
}

// MaxOffsetNanos is the largest |offset| the wall clock shows over ticks [0, end]. The
// offset is linear with at most one step, so it is extreme at the ends or around the step.
func (c *Clock) MaxOffsetNanos(end Tick) int64 {
	candidates := []Tick{0, end}
	if j := c.options.JumpTick; j != 0 && j <= end {
		candidates = append(candidates, j-1, j)
	}
	var max int64
	for _, t := range candidates {
		offset := c.OffsetNanos(t)
		if offset < 0 {
			offset = -offset
		}
		if offset > max {
			max = offset
		}
	}
	return max
}
