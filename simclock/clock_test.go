package simclock

import "testing"

func TestPerfectClockShowsTrueTime(t *testing.T) {
	c := New(Options{})
	for _, now := range []Tick{0, 1, 100, 1 << 30} {
		if got, want := c.Realtime(now), EpochNanos+int64(now)*TickNanos; got != want {
			t.Fatalf("tick %d: realtime %d, want %d", now, got, want)
		}
		if got := c.Monotonic(now); got != int64(now)*TickNanos {
			t.Fatalf("tick %d: monotonic %d", now, got)
		}
		if c.OffsetNanos(now) != 0 {
			t.Fatalf("tick %d: offset %d", now, c.OffsetNanos(now))
		}
	}
}

func TestSkewDriftAndJump(t *testing.T) {
	c := New(Options{SkewNanos: 1_500_000_000, DriftPPM: 200, JumpTick: 1000, JumpNanos: -10_000_000_000})
	// After 100 s (10,000 ticks) a 200 ppm drift adds 20 ms.
	if got, want := c.OffsetNanos(10_000), int64(1_500_000_000+20_000_000-10_000_000_000); got != want {
		t.Fatalf("offset at tick 10000: %d, want %d", got, want)
	}
	if c.Jumped(999) || !c.Jumped(1000) {
		t.Fatal("the jump must happen exactly at its tick")
	}
	if got := c.Realtime(1000) - c.Realtime(999); got >= 0 {
		t.Fatalf("a backwards jump must show: realtime moved %d ns", got)
	}
	// Largest right after the step (tick 1000, 10 s: 2 ms of drift), not at the end.
	if got, want := c.MaxOffsetNanos(10_000), int64(10_000_000_000-1_500_000_000-2_000_000); got != want {
		t.Fatalf("max offset %d, want %d", got, want)
	}
}

func TestMonotonicNeverJumpsOrFalls(t *testing.T) {
	for _, o := range []Options{
		{DriftPPM: -DriftMaxPPM, JumpTick: 5, JumpNanos: -JumpMaxNanos},
		{SkewNanos: SkewMaxNanos, DriftPPM: DriftMaxPPM, JumpTick: 7, JumpNanos: JumpMaxNanos},
	} {
		c := New(o)
		previous := c.Monotonic(0)
		for now := Tick(1); now < 20; now++ {
			step := c.Monotonic(now) - previous
			if step <= 0 || step > TickNanos*2 {
				t.Fatalf("%+v: monotonic stepped %d ns at tick %d", o, step, now)
			}
			previous = c.Monotonic(now)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []Options{
		{SkewNanos: SkewMaxNanos + 1}, {DriftPPM: -DriftMaxPPM - 1},
		{JumpTick: 1, JumpNanos: JumpMaxNanos + 1}, {JumpNanos: 5},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
