package core

import "github.com/vsrsim/vsrsim/entropy"

// timeout is a named tick counter. It fires once its ticks reach after; backoff doubles
// after (up to a bound) and adds jitter from the owner's random stream, so replicas that
// time out together do not retry together forever.
type timeout struct {
	name    string
	base    uint64 // after, when reset
	max     uint64 // bound of backoff
	after   uint64
	ticks   uint64
	running bool
}

func newTimeout(name string, after uint64) timeout {
	return timeout{name: name, base: after, max: after, after: after}
}

func (t *timeout) start() { t.running, t.ticks, t.after = true, 0, t.base }
func (t *timeout) stop()  { t.running, t.ticks, t.after = false, 0, t.base }

// reset restarts the count without touching the backoff.
func (t *timeout) reset() { t.ticks = 0 }

func (t *timeout) tick() {
	if t.running {
		t.ticks++
	}
}

// fired reports whether the timeout is due. The owner acts and then resets or backs off.
func (t *timeout) fired() bool { return t.running && t.ticks >= t.after }

// backoff doubles the wait, up to max, with up to a quarter of jitter, and restarts.
func (t *timeout) backoff(r *entropy.Rand) {
	t.after = min(t.after*2, t.max)
	t.after += r.Range(0, t.after/4)
	t.ticks = 0
}

// jitter restarts with a random part of base added, to spread replicas apart.
func (t *timeout) jitter(r *entropy.Rand) {
	t.after = t.base + r.Range(0, t.base/2)
	t.ticks = 0
}
