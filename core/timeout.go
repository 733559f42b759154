package core

import "github.com/vsrsim/vsrsim/entropy"

// timeout is a named tick counter. It fires once its ticks reach after; backoff doubles
// after (up to a bound) and adds jitter from the owner's random stream, so replicas that
// time out together do not retry together forever.
//
//	Invariant: 0 < base ≤ max, and base ≤ after ≤ max + max/2 (backoff adds up to a
//	quarter over max, jitter up to half over base).
//	Invariant: a running timeout is never ticked while due: the owner acts on it in the tick
//	it fires, and resets, backs off or stops it.
type timeout struct {
	name    string
	base    uint64 // after, when reset
	max     uint64 // bound of backoff
	after   uint64
	ticks   uint64
	running bool
}

func newTimeout(name string, after uint64) timeout {
	assert(name != "")
	assert(after > 0) // a timeout of zero ticks would fire on every tick
	return timeout{name: name, base: after, max: after, after: after}
}

// start and stop assert the timeout was made by newTimeout: a zero one would fire on every
// tick once started.
func (t *timeout) start() {
	assert(t.base > 0 && t.base <= t.max)
	t.running, t.ticks, t.after = true, 0, t.base
}

func (t *timeout) stop() {
	assert(t.base > 0 && t.base <= t.max)
	t.running, t.ticks, t.after = false, 0, t.base
}

// reset restarts the count without touching the backoff. Only a running timeout is reset:
// resetting a stopped one means its owner thinks it is in a role it is not.
func (t *timeout) reset() {
	assert(t.running)
	assert(t.after >= t.base)
	t.ticks = 0
}

func (t *timeout) tick() {
	if t.running {
		if t.ticks >= t.after {
			panic("core: timeout " + t.name + " ticked while due: its owner did not act on it")
		}
		t.ticks++
	}
}

// fired reports whether the timeout is due. The owner acts and then resets or backs off.
func (t *timeout) fired() bool { return t.running && t.ticks >= t.after }

// backoff doubles the wait, up to max, with up to a quarter of jitter, and restarts.
func (t *timeout) backoff(r *entropy.Rand) {
	assert(t.running)
	assert(t.after >= t.base && t.after <= t.max+t.max/2)
	t.after = min(t.after*2, t.max)
	t.after += r.Range(0, t.after/4)
	t.ticks = 0
	assert(t.after >= t.base && t.after <= t.max+t.max/4)
}

// jitter restarts with a random part of base added, to spread replicas apart.
func (t *timeout) jitter(r *entropy.Rand) {
	assert(t.running)
	t.after = t.base + r.Range(0, t.base/2)
	t.ticks = 0
	assert(t.after >= t.base && t.after <= t.max+t.max/2)
}
