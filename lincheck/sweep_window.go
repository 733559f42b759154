package lincheck

import (
	"sort"
	"time"
)

// Windows: a stretch of history that no order explains even from any value the key may
// hold at its start, with every operation open at its start free to take effect or not,
// proves the whole history not linearizable, whatever came before. Such a window is found
// by sweeping short stretches exactly, and it is the explanation worth reading: the
// operations that contradict each other, and nothing else.

// windowConfigMax bounds the configurations a window's sweep may explore at one event.
const windowConfigMax = 1 << 16

// refuteWindow looks for the shortest window ending with the answer of operation failed
// that no order explains from any value, trying windows of 1, 2, 4, ... operations up to
// about opsMax. It returns nil when none is found within the bounds or the deadline.
func refuteWindow(ops []Operation, failed, opsMax int, deadline time.Time) *sweepWindow {
	end := ops[failed].Response
	var starts []int64
	for _, o := range ops {
		if !o.Pending && o.Invoke <= ops[failed].Invoke {
			starts = append(starts, o.Invoke)
		}
	}
	sort.Slice(starts, func(a, b int) bool { return starts[a] > starts[b] })
	starts = dedupTimes(starts)
	for k := 1; ; k *= 2 {
		if k > len(starts) {
			k = len(starts)
		}
		if w, done := tryWindow(ops, starts[k-1], end, deadline); w != nil || done {
			return w
		}
		if k == len(starts) || k > opsMax || (!deadline.IsZero() && time.Now().After(deadline)) {
			return nil
		}
	}
}

func dedupTimes(ts []int64) []int64 {
	out := ts[:0]
	for i, t := range ts {
		if i == 0 || t != ts[i-1] {
			out = append(out, t)
		}
	}
	return out
}

// tryWindow sweeps the window [from, end] exactly from every value. done reports that
// longer windows are not worth trying (the sweep overflowed its bound).
func tryWindow(ops []Operation, from, end int64, deadline time.Time) (w *sweepWindow, done bool) {
	var sub []Operation
	var index []int // into ops, by sub
	for i, o := range ops {
		if windowOp(&o, from, end) {
			sub = append(sub, o)
			index = append(index, i)
		}
	}
	s, _ := newSweep(sub)
	if s == nil || openAtMost(s.events, s.ops) > slotMax {
		return nil, true
	}
	s.deadline, s.configMax = deadline, windowConfigMax
	for v := range s.values {
		s.starts = append(s.starts, int32(v))
	}
	out := s.run()
	switch out.verdict {
	case Linearizable:
		return nil, false
	case Unknown:
		return nil, true
	}
	w = &sweepWindow{from: from, to: end, starts: s.values}
	for j, o := range sub {
		switch {
		case o.Pending && ops[index[j]].Pending:
			w.crashed = append(w.crashed, index[j])
		case o.Pending:
			w.open = append(w.open, index[j])
		default:
			w.ops = append(w.ops, index[j])
		}
	}
	w.failed = index[out.window.failed]
	return w, true
}

// windowOp brings an operation into the window [from, end], reporting whether it belongs
// there: answered in it, it stays; open at its start or its end, it may take effect in the
// window or not, so it becomes a crashed operation (a read, or a cas that failed, then
// constrains nothing and is left out); crashed before its end, it may take effect in it.
func windowOp(o *Operation, from, end int64) bool {
	switch {
	case o.Invoke > end:
		return false
	case o.Pending:
		return true
	case o.Response < from:
		return false
	case o.Invoke >= from && o.Response <= end:
		return true
	}
	if o.Input.Op == OpGet || (o.Input.Op == OpCAS && !o.Output.Swapped) {
		return false
	}
	o.Pending, o.Output = true, KVOutput{}
	return true
}
