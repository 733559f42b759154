package lincheck

import (
	"fmt"
	mathbits "math/bits"
	"slices"
	"sort"
	"time"
)

// The sweep decides one key's history of reads, writes and compare-and-sets when values
// repeat (Jepsen's registers write values from a domain of five), where the fast path cannot
// and porcupine's search over orders blows up. It walks the history's events in time order
// and carries the set of configurations the key can be in, instead of searching orders:
//
//   - A configuration is the key's value, the set of operations still open (invoked, not yet
//     answered) that are already linearized, and how many crashed operations of each kind
//     it has used. It is only ever a few dozen bits and a short string, so the set is
//     deduplicated exactly, and configurations that used more crashed operations than
//     another with the same value and set are dropped (they can do nothing the other
//     cannot).
//   - Operations are linearized just in time (Lowe's JIT linearization): nothing happens
//     until an operation is answered; then, from each configuration, every sequence of
//     open operations that ends with the answered one is tried. Any linearization can be
//     moved to this form, so nothing is lost.
//   - An operation that cannot change the value (a read, a cas that fails, a cas of a value
//     to itself) is linearized the moment the value matches it: moving such an operation
//     earlier, to a point where it returns the same, never breaks a linearization. So the
//     search only chooses among operations that change the value.
//   - Of several open operations with the same input and answer, the one answered first is
//     always chosen first (an exchange argument), so the search chooses among kinds of
//     change, not among clients.
//   - A crashed operation (never answered) may take effect at any instant after its
//     invocation, or never. A crashed read constrains nothing and a crashed cas that would
//     fail changes nothing, so only crashed writes and swaps count: each becomes one use of
//     its kind ("write 3", "cas 1->2"), available from its invocation on. Values no read
//     returns and no cas expects are all one value, "unobserved".
//
// Where no completed operation is open (a quiescent cut) a configuration is just a value
// and its used crashed operations, so the carried set is tiny and a history of any length
// is cut into windows searched one after the other. When the set becomes empty, the window
// since the last cut is what no order explains.

// sweepKind is what an operation does to the value, as the sweep sees it.
type sweepKind uint8

const (
	sweepRead    sweepKind = iota + 1 // returns the value
	sweepWrite                        // sets the value
	sweepCASOK                        // swapped: from expect to value
	sweepCASFail                      // did not swap: the value was not expect
)

// slotMax bounds the operations open at once (completed ones; crashed ones are counted, not
// held): the width of a bitset.
const slotMax = 128

// bits is a set of open-operation slots.
type bits [2]uint64

func (b bits) has(i int) bool       { return b[i>>6]&(1<<(i&63)) != 0 }
func (b *bits) set(i int)           { b[i>>6] |= 1 << (i & 63) }
func (b *bits) clear(i int)         { b[i>>6] &^= 1 << (i & 63) }
func (b bits) and(c bits) bits      { return bits{b[0] & c[0], b[1] & c[1]} }
func (b bits) or(c bits) bits       { return bits{b[0] | c[0], b[1] | c[1]} }
func (b bits) andNot(c bits) bits   { return bits{b[0] &^ c[0], b[1] &^ c[1]} }
func (b bits) empty() bool          { return b[0] == 0 && b[1] == 0 }
func (b bits) subsetOf(c bits) bool { return b.andNot(c).empty() }
func (b bits) each(fn func(int))    { eachBit(b[0], 0, fn); eachBit(b[1], 64, fn) }
func (b bits) count() int           { return mathbits.OnesCount64(b[0]) + mathbits.OnesCount64(b[1]) }
func eachBit(w uint64, base int, fn func(int)) {
	for ; w != 0; w &= w - 1 {
		fn(base + mathbits.TrailingZeros64(w))
	}
}

// sweepOp is one operation of the part, values interned.
type sweepOp struct {
	kind             sweepKind
	value, expect    int32 // read: the value seen; write and cas: the new value; cas: expected
	invoke, response int64
	pending          bool
	class            int32 // changes of the same kind share a class; -1 for the rest
}

// tokenKind is a kind of crashed operation that changes the value: expect is noValue for
// a write.
type tokenKind struct{ expect, value int32 }

const noValue = -1

// sweepEvent is an invocation or a response, in the order the sweep takes them.
type sweepEvent struct {
	at       int64
	response bool
	op       int
}

// config is one configuration of the key. It is comparable, so sets of them are maps.
// Invariant: lin ⊆ the open slots; used[k] ≤ the crashed operations of kind k invoked so far.
type config struct {
	value int32
	lin   bits
	used  string // uses of crashed kinds: sorted (kind, count) pairs, 4 bytes each
}

// SweepStats say how much work the sweep did on a part.
type SweepStats struct {
	Events, Cuts, Restarts      int
	ConfigsMax, Explored        int
	CrashedDropped, CrashedKept int
}

// sweep is the check of one part.
type sweep struct {
	ops    []sweepOp
	src    []Operation // the part's operations, by the same index
	values []string    // interned values; values[unobserved] stands for every value nobody observes
	tokens []tokenKind
	events []sweepEvent

	slots     [slotMax]int // op in each slot, or -1
	open      bits
	preserve  []bits   // by value: open operations that leave that value unchanged and fit it
	casFail   bits     // open cas operations that failed
	casFailAt []bits   // by value: those of casFail that expected it (they cannot fail there)
	writes    bits     // open writes
	casFrom   []bits   // by value: open swaps from it
	classMask []bits   // by class: its open operations
	bestSlot  []int    // by class: scratch for moves, -1 when unset
	avail     []uint32 // by token kind: crashed operations invoked so far

	frontier []config
	lastCut  cut
	stats    SweepStats

	deadline  time.Time // zero: none
	configMax int       // configurations explored at one event, when exact
	// beam, when not zero, bounds the configurations carried: the sweep then keeps the
	// likeliest, and exact records whether it ever dropped one. Every configuration carried
	// is reachable, so one that reaches the end proves the history linearizable; an empty
	// set proves the contrary only when exact.
	beam    int
	exact   bool
	widened bool // the beam is wider than it started, around a dead end
	// starts are the values the key may hold before the first event: the initial "" for a
	// whole history, every value for a window (sweepWindowFrom).
	starts []int32
}

// cut is the last quiescent point: where a window of the explanation starts.
type cut struct {
	event    int
	at       int64
	frontier []config
	avail    []uint32 // crashed operations of each kind invoked before it
}

// sweepOutcome is the sweep's answer for one part.
type sweepOutcome struct {
	verdict Verdict
	lines   []string
	// window is what no order explains, when not linearizable: the operations, the values
	// the key may hold at its start and the crashed operations that may take effect in it.
	window *sweepWindow
	stats  SweepStats
	// lostAt is the event where a beam found no way on, or -1: a place to look for a
	// window no order explains.
	lostAt int
}

// sweepWindow is the smallest stretch of history the sweep found unexplainable.
type sweepWindow struct {
	from, to int64
	failed   int      // the operation whose answer no configuration could reach
	ops      []int    // indices into the part's operations: completed ones in the window
	crashed  []int    // crashed operations invoked before its end that may take effect in it
	open     []int    // operations open at its start or end: they may take effect in it or not
	starts   []string // values the key may hold at its start
}

// defaultConfigMax bounds the configurations carried or explored at one event.
const defaultConfigMax = 1 << 20

// newSweep prepares a part, or says why the sweep does not apply to it.
func newSweep(ops []Operation) (*sweep, string) {
	s := &sweep{src: ops, configMax: defaultConfigMax, exact: true}
	for i := range s.slots {
		s.slots[i] = -1
	}
	for _, o := range ops {
		if o.Input.Op == OpAppend {
			return nil, "an append: values are not from a small domain"
		}
	}
	observed := s.observedValues(ops)
	s.ops = make([]sweepOp, len(ops))
	classes := make(map[tokenKind]int32)
	tokens := make(map[tokenKind]int32)
	for i, o := range ops {
		op := s.convert(o, observed)
		switch {
		case op.pending && (op.kind == sweepRead || op.kind == sweepCASFail):
			// Never answered, and changes nothing: constrains nothing.
			s.stats.CrashedDropped++
			op.class = -1
		case op.pending:
			s.stats.CrashedKept++
			k := tokenKind{expect: noValue, value: op.value}
			if op.kind == sweepCASOK {
				k.expect = op.expect
			}
			if _, ok := tokens[k]; !ok {
				tokens[k] = int32(len(s.tokens))
				s.tokens = append(s.tokens, k)
			}
			op.class = tokens[k]
		case op.kind == sweepWrite || op.kind == sweepCASOK:
			k := tokenKind{expect: noValue, value: op.value}
			if op.kind == sweepCASOK {
				k.expect = op.expect
			}
			if _, ok := classes[k]; !ok {
				classes[k] = int32(len(classes))
			}
			op.class = classes[k]
		default:
			op.class = -1
		}
		s.ops[i] = op
	}
	s.avail = make([]uint32, len(s.tokens))
	s.classMask = make([]bits, len(classes))
	s.bestSlot = make([]int, len(classes))
	for k := range s.bestSlot {
		s.bestSlot[k] = -1
	}
	s.preserve = make([]bits, len(s.values))
	s.casFailAt = make([]bits, len(s.values))
	s.casFrom = make([]bits, len(s.values))
	s.buildEvents()
	return s, ""
}

// observedValues are the values some read returns or some cas expects: the only values
// that can be told apart. The initial value "" is always one.
func (s *sweep) observedValues(ops []Operation) map[string]int32 {
	observed := map[string]int32{"": 0}
	s.values = []string{""}
	add := func(v string) {
		if _, ok := observed[v]; !ok {
			observed[v] = int32(len(s.values))
			s.values = append(s.values, v)
		}
	}
	for _, o := range ops {
		switch {
		case o.Input.Op == OpGet && !o.Pending:
			add(o.Output.Value)
		case o.Input.Op == OpCAS:
			add(o.Input.Expected)
		}
	}
	s.values = append(s.values, unobservedName)
	return observed
}

// unobservedName is how the sweep names every value nobody observes.
const unobservedName = "(a value nobody reads)"

// unobserved is the interned value that stands for every value nobody observes.
func (s *sweep) unobserved() int32 { return int32(len(s.values) - 1) }

// convert interns one operation.
func (s *sweep) convert(o Operation, observed map[string]int32) sweepOp {
	intern := func(v string) int32 {
		if i, ok := observed[v]; ok {
			return i
		}
		return s.unobserved()
	}
	op := sweepOp{invoke: o.Invoke, response: o.Response, pending: o.Pending, expect: noValue}
	switch o.Input.Op {
	case OpGet:
		op.kind, op.value = sweepRead, intern(o.Output.Value)
	case OpPut:
		op.kind, op.value = sweepWrite, intern(o.Input.Value)
	case OpCAS:
		op.kind, op.value, op.expect = sweepCASOK, intern(o.Input.Value), intern(o.Input.Expected)
		if !o.Pending && !o.Output.Swapped {
			op.kind = sweepCASFail
		}
		if op.pending && op.value == op.expect {
			op.kind = sweepCASFail // a swap of a value to itself changes nothing
		}
	default:
		panic(fmt.Sprintf("lincheck: sweep given operation %v", o.Input.Op))
	}
	return op
}

// buildEvents orders invocations and responses: by time, an invocation before a response
// at the same instant (intervals are closed), then by operation. Crashed operations that
// change nothing have no events.
func (s *sweep) buildEvents() {
	for i, op := range s.ops {
		if op.pending && op.class < 0 {
			continue
		}
		s.events = append(s.events, sweepEvent{at: op.invoke, op: i})
		if !op.pending {
			s.events = append(s.events, sweepEvent{at: op.response, response: true, op: i})
		}
	}
	sort.Slice(s.events, func(a, b int) bool {
		x, y := s.events[a], s.events[b]
		if x.at != y.at {
			return x.at < y.at
		}
		if x.response != y.response {
			return !x.response
		}
		return x.op < y.op
	})
}

// run sweeps every event.
//
// With a beam, the sweep keeps a checkpoint of its configurations every checkpointEvery
// events. When the beam finds no way on, it first looks for a short window no order
// explains (refuteWindow: then the history is not linearizable, whatever the beam lost);
// failing that, it goes back to the checkpoint before last and sweeps the stretch again
// with a beam eight times as wide, narrowing again once past the dead end, up to beamMax.
func (s *sweep) run() *sweepOutcome {
	s.frontier = []config{{value: 0}}
	if s.starts != nil {
		s.frontier = s.frontier[:0]
		for _, v := range s.starts {
			s.frontier = append(s.frontier, config{value: v})
		}
	}
	s.lastCut = cut{event: 0, at: s.firstTime(), frontier: s.frontier, avail: slices.Clone(s.avail)}
	base, narrowAt := s.beam, -1
	var checkpoints []checkpoint
	for e := 0; e < len(s.events); e++ {
		ev := s.events[e]
		if e%64 == 0 && !s.deadline.IsZero() && time.Now().After(s.deadline) {
			return s.gaveUp(e, "the time limit")
		}
		if s.beam > 0 && e%checkpointEvery == 0 && (len(checkpoints) == 0 || checkpoints[len(checkpoints)-1].event < e) {
			checkpoints = append(checkpoints, checkpoint{event: e, frontier: slices.Clone(s.frontier), lastCut: s.lastCut})
		}
		if e == narrowAt {
			s.beam, narrowAt, s.widened = base, -1, false
		}
		if !ev.response {
			s.invoke(ev.op)
			continue
		}
		ok, overflow := s.respond(ev.op)
		switch {
		case overflow:
			return s.gaveUp(e, fmt.Sprintf("its bound of %d configurations at one event", s.configMax))
		case !ok && s.exact:
			return s.notLinearizable(e)
		case !ok:
			if w := refuteWindow(s.src, ev.op, refuteOpsMax, s.deadline); w != nil {
				return &sweepOutcome{verdict: NotLinearizable, window: w, stats: s.stats, lostAt: e}
			}
			if s.beam*8 > beamMax || len(checkpoints) == 0 {
				out := s.gaveUp(e, fmt.Sprintf("a dead end of its beam of %d configurations", s.beam))
				out.lostAt = e
				return out
			}
			cp := checkpoints[max(0, len(checkpoints)-2)]
			checkpoints = checkpoints[:max(0, len(checkpoints)-2)]
			s.restore(cp)
			s.beam, narrowAt, s.widened = s.beam*8, e+checkpointEvery, true
			s.stats.Restarts++
			e = cp.event - 1
			continue
		}
		if s.open.empty() {
			s.stats.Cuts++
			s.lastCut = cut{event: e + 1, at: ev.at, frontier: s.frontier, avail: slices.Clone(s.avail)}
		}
		s.stats.Events = max(s.stats.Events, e+1)
	}
	s.stats.Events = len(s.events)
	return &sweepOutcome{verdict: Linearizable, stats: s.stats, lostAt: -1}
}

// The beam's bounds: how often it keeps a checkpoint, how wide it may grow, and the
// longest window it looks for at a dead end.
const (
	checkpointEvery = 1024
	beamMax         = 1 << 14
	refuteOpsMax    = 256
)

// checkpoint is the sweep's configurations before one event.
type checkpoint struct {
	event    int
	frontier []config
	lastCut  cut
}

// restore puts the sweep back to a checkpoint: the open operations and crashed ones
// available are replayed from the start (which assigns the same slots again).
func (s *sweep) restore(cp checkpoint) {
	for i := range s.slots {
		s.slots[i] = -1
	}
	s.open, s.casFail, s.writes = bits{}, bits{}, bits{}
	for _, m := range [][]bits{s.preserve, s.casFailAt, s.casFrom, s.classMask} {
		clear(m)
	}
	clear(s.avail)
	for _, ev := range s.events[:cp.event] {
		if ev.response {
			s.close(s.slotOf(ev.op), ev.op)
		} else {
			s.invoke(ev.op)
		}
	}
	s.frontier, s.lastCut = cp.frontier, cp.lastCut
}

func (s *sweep) firstTime() int64 {
	if len(s.events) == 0 {
		return 0
	}
	return s.events[0].at
}

func (s *sweep) gaveUp(e int, why string) *sweepOutcome {
	at := int64(0)
	if e < len(s.events) {
		at = s.events[e].at
	}
	line := fmt.Sprintf("the sweep stopped at %s after %d of %d events (time %d), %d configurations carried",
		why, e, len(s.events), at, len(s.frontier))
	return &sweepOutcome{verdict: Unknown, lines: []string{line}, stats: s.stats, lostAt: -1}
}

// invoke opens an operation: a completed one takes a slot; a crashed one becomes one more
// available use of its kind.
func (s *sweep) invoke(i int) {
	op := &s.ops[i]
	if op.pending {
		s.avail[op.class]++
		return
	}
	slot := s.freeSlot()
	if slot >= 0 && s.open.has(slot) {
		panic(fmt.Sprintf("lincheck: sweep's free slot %d is open", slot))
	}
	if slot < 0 {
		panic("lincheck: sweep ran out of slots after checking there were enough")
	}
	s.slots[slot] = i
	s.open.set(slot)
	s.maskOp(slot, op, true)
}

// maskOp adds an open operation to, or removes it from, the masks the search reads.
func (s *sweep) maskOp(slot int, op *sweepOp, add bool) {
	upd := func(b *bits) {
		if add {
			b.set(slot)
		} else {
			b.clear(slot)
		}
	}
	switch op.kind {
	case sweepRead:
		upd(&s.preserve[op.value])
	case sweepWrite:
		upd(&s.writes)
	case sweepCASOK:
		if op.value == op.expect {
			upd(&s.preserve[op.value])
		} else {
			upd(&s.casFrom[op.expect])
		}
	case sweepCASFail:
		upd(&s.casFail)
		upd(&s.casFailAt[op.expect])
	}
	if op.class >= 0 && !op.pending {
		upd(&s.classMask[op.class])
	}
}

func (s *sweep) freeSlot() int {
	for i, op := range s.slots {
		if op < 0 {
			return i
		}
	}
	return -1
}

// openAtMost is the most completed operations open at once: the sweep needs a slot each.
func openAtMost(events []sweepEvent, ops []sweepOp) int {
	n, most := 0, 0
	for _, ev := range events {
		switch {
		case ops[ev.op].pending:
		case ev.response:
			n--
		default:
			n++
			most = max(most, n)
		}
	}
	return most
}

// notLinearizable reports the window from the last quiescent cut to event e, where no
// configuration could linearize the answered operation.
func (s *sweep) notLinearizable(e int) *sweepOutcome {
	s.stats.Events = e + 1
	w := &sweepWindow{from: s.lastCut.at, to: s.events[e].at, failed: s.events[e].op}
	for _, ev := range s.events[s.lastCut.event : e+1] {
		if !ev.response && !s.ops[ev.op].pending {
			w.ops = append(w.ops, ev.op)
		}
	}
	seen := map[int32]bool{}
	minUsed := make([]uint32, len(s.tokens))
	for k := range minUsed {
		minUsed[k] = s.lastCut.avail[k]
	}
	for _, c := range s.lastCut.frontier {
		if !seen[c.value] {
			seen[c.value] = true
			w.starts = append(w.starts, s.values[c.value])
		}
		for k := range minUsed {
			minUsed[k] = min(minUsed[k], usedCount(c.used, k))
		}
	}
	sort.Strings(w.starts)
	// The crashed operations that may take effect in the window: those invoked before it
	// that some configuration at its start had not used, and those invoked in it. At most
	// one per window operation of each kind can matter.
	before := make([]int, len(s.tokens))
	within := make([]int, len(s.tokens))
	for k := range before {
		before[k] = min(int(s.lastCut.avail[k]-minUsed[k]), len(w.ops))
		within[k] = len(w.ops)
	}
	for i := len(s.ops) - 1; i >= 0; i-- {
		op := s.ops[i]
		switch {
		case !op.pending || op.class < 0 || op.invoke > w.to:
		case op.invoke >= w.from && within[op.class] > 0:
			within[op.class]--
			w.crashed = append(w.crashed, i)
		case op.invoke < w.from && before[op.class] > 0:
			before[op.class]--
			w.crashed = append(w.crashed, i)
		}
	}
	sort.Ints(w.crashed)
	return &sweepOutcome{verdict: NotLinearizable, window: w, stats: s.stats, lostAt: e}
}
