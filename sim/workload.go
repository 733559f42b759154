package sim

import (
	"fmt"
	"strconv"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
)

// workload issues random key-value operations from every client, one at a time each, until
// the run's request budget is spent, and records the history.
type workload struct {
	world   *World
	rand    *entropy.Rand
	slots   []clientSlot
	issued  int
	history []checker.Operation // the client history, in invocation order
	replied []int               // history indexes answered this tick, for the checkers
	keys    []string
	seen    map[string]string // latest value any get returned per key: material for cas
	replies uint64
	evicted uint64
	budget  uint64 // operations to answer: the run's requests, more once the core is healed
	serving bool   // the healed core serves: outcomes are timed (serving.go)
	// What the healed core's service took: the longest wait of an operation for its outcome,
	// the longest time without a reply, and when the latest reply came.
	outcomeTicksMax    uint64
	servingGapTicksMax uint64
	repliedAt          simclock.Tick
	closed             bool // the liveness phase: no new operations
	inflight           int  // slots with an operation in flight
	input              []byte
	value              []byte // scratch for building values
}

type clientSlot struct {
	client  *core.Client
	next    simclock.Tick // no new operation before this tick (think time)
	current int           // history index of the operation in flight, or -1
	since   simclock.Tick // the operation in flight waits for its outcome from this tick
}

func newWorkload(w *World, r *entropy.Rand) *workload {
	keys := make([]string, w.options.Keys)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return &workload{world: w, rand: r, slots: make([]clientSlot, w.options.Clients), keys: keys,
		budget: uint64(w.options.Requests),
		seen:   make(map[string]string), history: make([]checker.Operation, 0, min(w.options.Requests, 1<<16))}
}

// attach creates the client of a slot.
func (wl *workload) attach(slot int, id core.ClientID, b *bus, env *Env) *core.Client {
	s := &wl.slots[slot]
	s.current = -1
	s.client = core.NewClient(wl.world.config, id, b, env.Rand,
		func(op core.Op, output []byte) { wl.onReply(slot, op, output) },
		func() { wl.onEvicted(slot) })
	return s.client
}

// done reports whether the workload has its replies: its budget of operations answered (an
// operation cut off by an eviction has no answer, so the client carries on in a new
// session), or, once closed, whatever was in flight; and none still waiting.
func (wl *workload) done() bool {
	if !wl.closed && wl.replies < wl.budget {
		return false
	}
	return wl.inflight == 0
}

// pending is the number of operations waiting for their reply.
func (wl *workload) pending() int { return wl.inflight }

// tick lets every idle client past its think time issue its next operation. In the
// liveness phase no new operation starts: the ones in flight must be answered.
func (wl *workload) tick(now simclock.Tick) {
	if wl.closed {
		return
	}
	for slot := range wl.slots {
		s := &wl.slots[slot]
		if wl.replies+uint64(wl.pending()) >= wl.budget {
			return // enough answered or on the way
		}
		if s.current >= 0 || now < s.next || s.client.Busy() {
			continue
		}
		in := wl.nextInput(slot)
		s.current, s.since = len(wl.history), now
		wl.inflight++
		wl.history = append(wl.history, checker.Operation{Client: slot, Invoke: int64(now), Pending: true,
			Input: checker.FromCoreKV(in)})
		wl.issued++
		wl.input = core.EncodeKV(wl.input[:0], in)
		if !wl.world.unchecked {
			wl.world.model.Sent(s.client.ID(), wl.input, s.current)
		}
		wl.world.trace.Record(now, TraceRequest, uint64(slot), uint64(in.Op), uint64(len(wl.input)))
		if wl.world.trace.Writing() {
			wl.world.trace.Line(now, "client.request c%d %v %q %q %q", slot, in.Op, in.Key, in.Value, in.Expected)
		}
		s.client.Submit(wl.input)
	}
}

var kvOpWeights = []uint64{35, 25, 25, 15} // get, put, append, cas

func (wl *workload) nextInput(slot int) core.KVInput {
	r := wl.rand
	in := core.KVInput{Op: core.KVOp(1 + r.Weighted(kvOpWeights)), Key: wl.keys[r.Int(len(wl.keys))]}
	// Unique values: a read names the write it saw, which keeps checking fast; and every
	// request body is unique (a get carries a tag the store ignores), which names the
	// request behind every execution.
	value := append(append(append(wl.value[:0], 'c'), strconv.Itoa(slot)...), '.')
	value = append(strconv.AppendInt(value, int64(len(wl.history)), 10), ';')
	in.Value, wl.value = string(value), value
	if in.Op == core.KVCas {
		in.Expected = wl.seen[in.Key]
	}
	return in
}

func (wl *workload) onReply(slot int, op core.Op, output []byte) {
	s := &wl.slots[slot]
	if s.current < 0 {
		panic("sim: a reply to a client with nothing in flight")
	}
	now := wl.world.kernel.Now()
	h := &wl.history[s.current]
	out, err := core.DecodeKVOutput(output)
	if err != nil || out.Invalid {
		panic(fmt.Sprintf("sim: a reply's output is not a valid key-value output: %v %+v", err, out))
	}
	h.Output = checker.KVOutput{Value: out.Value, Swapped: out.Swapped}
	h.OpNumber, h.Response, h.Pending = uint64(op), int64(now), false
	wl.outcome(s, now)
	if wl.serving {
		wl.servingGapTicksMax = max(wl.servingGapTicksMax, uint64(now-wl.repliedAt))
	}
	wl.repliedAt = now
	if h.Input.Op == checker.OpGet {
		wl.seen[h.Input.Key] = out.Value
	}
	wl.replied = append(wl.replied, s.current)
	s.current = -1
	wl.inflight--
	s.next = now + simclock.Tick(wl.rand.ExpTicks(0, wl.world.options.RequestMeanTicks))
	wl.replies++
	wl.world.trace.Record(now, TraceReply, uint64(slot), uint64(op), uint64(len(output)))
	if wl.world.trace.Writing() {
		wl.world.trace.Line(now, "client.reply c%d op=%d %+v", slot, op, out)
	}
}

func (wl *workload) onEvicted(slot int) {
	s := &wl.slots[slot]
	// The operation in flight stays pending: it may or may not have run.
	now := wl.world.kernel.Now()
	if s.current >= 0 {
		wl.inflight--
		wl.outcome(s, now)
	}
	s.current = -1
	wl.evicted++
	wl.world.trace.Record(now, TraceNote, uint64(slot), 1)
	if wl.world.trace.Writing() {
		wl.world.trace.Line(now, "client.evicted c%d", slot)
	}
}

// outcome notes that the operation in flight in s has its outcome (a reply or an eviction).
func (wl *workload) outcome(s *clientSlot, now simclock.Tick) {
	if wl.serving {
		wl.outcomeTicksMax = max(wl.outcomeTicksMax, uint64(now-s.since))
	}
}
