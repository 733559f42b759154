// Package simclock is virtual time.
//
// The world advances one global Tick at a time; a tick is 10 ms of virtual time. Each
// simulated process reads time through its own Clock: a wall clock that is off from true
// time by an initial skew, a linear drift, and optionally one step (a jump forwards or
// backwards at some tick), and a monotonic clock that drifts with the same oscillator but
// never jumps. Clocks are pure functions of the tick, so reading one has no side effects
// and costs two multiplications.
package simclock
