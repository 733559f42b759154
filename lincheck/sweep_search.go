package lincheck

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// respond handles the answer of operation i: every configuration must have linearized it by
// now. Those that have not are extended by every sequence of changes that ends with it.
// It reports whether any configuration survives, and whether it gave up at configMax.
func (s *sweep) respond(i int) (ok, overflow bool) {
	slot := s.slotOf(i)
	next := make([]config, 0, len(s.frontier))
	emitted := make(map[config]struct{}, len(s.frontier))
	emit := func(c config) {
		if !c.lin.has(slot) {
			panic("lincheck: sweep emitted a configuration without the answered operation")
		}
		c.lin.clear(slot)
		if _, ok := emitted[c]; !ok {
			emitted[c] = struct{}{}
			next = append(next, c)
		}
	}
	// The search is breadth first, and a configuration is not explored when one with the
	// same value and linearized set used no more crashed operations of any kind: a cycle
	// of crashed writes leads nowhere new.
	visited := make(map[head][]string)
	explored := 0
	seen := func(c config) bool {
		h := head{c.value, c.lin}
		for _, u := range visited[h] {
			if usedAtMost(u, c.used) {
				return true
			}
		}
		visited[h] = append(visited[h], c.used)
		explored++
		return false
	}
	var queue []config
	for _, c := range s.frontier {
		if !c.lin.subsetOf(s.open) || !c.lin.has(slot) && !s.open.has(slot) {
			panic(fmt.Sprintf("lincheck: sweep carried a configuration linearizing closed operations: %v, open %v", c.lin, s.open))
		}
		c = s.closure(c)
		if c.lin.has(slot) {
			emit(c)
			continue
		}
		if !seen(c) {
			queue = append(queue, c)
		}
	}
	limit := s.configMax
	if s.beam > 0 {
		// A beam only needs a few times its width of answers; the search is breadth first,
		// so those are the ones that change least before the answered operation.
		limit = max(4096, 32*s.beam)
	}
	if s.beam > 0 && !s.widened {
		// A beam first tries the answered operation alone, next in every configuration;
		// only if that leaves the beam thin does it search for changes before it. A beam
		// widened at a dead end always searches.
		for _, c := range queue {
			if d, ok := s.direct(c, slot); ok {
				emit(s.closure(d))
			}
		}
		if len(next) >= max(1, min(len(s.frontier), s.beam)/4) {
			s.exact = false
			queue = nil
		}
	}
	q := 0
	for ; q < len(queue) && explored <= limit && (s.beam == 0 || len(next) < 2*s.beam); q++ {
		s.moves(queue[q], func(d config) {
			d = s.closure(d)
			if d.lin.has(slot) {
				emit(d)
				return
			}
			if !seen(d) {
				queue = append(queue, d)
			}
		})
	}
	s.stats.Explored += explored
	if q < len(queue) {
		if s.beam == 0 {
			return false, true
		}
		s.exact = false
	}
	s.close(slot, i)
	s.frontier = s.prune(next)
	if s.beam > 0 && len(s.frontier) > s.beam {
		s.frontier = s.trim(s.frontier)
		s.exact = false
	}
	s.stats.ConfigsMax = max(s.stats.ConfigsMax, len(s.frontier))
	return len(s.frontier) > 0, false
}

func (s *sweep) slotOf(i int) int {
	for slot, op := range s.slots {
		if op == i {
			return slot
		}
	}
	panic(fmt.Sprintf("lincheck: sweep answered operation %d, which is not open", i))
}

// close frees the slot of an answered operation.
func (s *sweep) close(slot, i int) {
	if s.slots[slot] != i || !s.open.has(slot) {
		panic(fmt.Sprintf("lincheck: sweep closes slot %d for operation %d, which holds %d", slot, i, s.slots[slot]))
	}
	s.maskOp(slot, &s.ops[i], false)
	s.open.clear(slot)
	s.slots[slot] = -1
}

// closure linearizes every open operation that leaves the configuration's value unchanged
// and returns what it returned: reads of it, cas operations that failed against another
// value, swaps of it to itself. Moving those earlier never breaks a linearization.
func (s *sweep) closure(c config) config {
	fits := s.preserve[c.value].or(s.casFail.andNot(s.casFailAt[c.value]))
	c.lin = c.lin.or(fits.and(s.open))
	return c
}

// moves calls fn with every configuration one change away from c: an open operation that
// changes the value (the first answered of each kind), or a crashed one still available.
func (s *sweep) moves(c config, fn func(config)) {
	candidates := s.writes.or(s.casFrom[c.value]).andNot(c.lin)
	var touched [slotMax]int32
	n := 0
	candidates.each(func(slot int) {
		i := s.slots[slot]
		class := s.ops[i].class
		best := s.bestSlot[class]
		switch {
		case best < 0:
			touched[n] = class
			n++
			s.bestSlot[class] = slot
		case s.answeredBefore(i, s.slots[best]):
			s.bestSlot[class] = slot
		}
	})
	// Of several open operations of one kind, the one answered first goes: linearizing it
	// rather than another of its kind loses nothing. A write of the value the key already
	// has changes nothing now, but linearized later it would: both are tried.
	for _, class := range touched[:n] {
		slot := s.bestSlot[class]
		s.bestSlot[class] = -1
		d := c
		d.value = s.ops[s.slots[slot]].value
		d.lin.set(slot)
		fn(d)
	}
	for k, kind := range s.tokens {
		if kind.value == c.value || (kind.expect != noValue && kind.expect != c.value) {
			continue
		}
		used := usedCount(c.used, k)
		if used >= s.avail[k] {
			if used > s.avail[k] {
				panic(fmt.Sprintf("lincheck: sweep used %d crashed operations of kind %d, of %d invoked", used, k, s.avail[k]))
			}
			continue
		}
		d := c
		d.value = kind.value
		d.used = withUsed(c.used, k, used+1)
		fn(d)
	}
}

// direct linearizes the operation in slot next in c, if it changes the value from there.
func (s *sweep) direct(c config, slot int) (config, bool) {
	op := &s.ops[s.slots[slot]]
	switch {
	case op.kind == sweepWrite:
	case op.kind == sweepCASOK && op.expect == c.value:
	default:
		return c, false
	}
	c.value = op.value
	c.lin.set(slot)
	return c, true
}

// answeredBefore orders open operations by answer, then by index.
func (s *sweep) answeredBefore(i, j int) bool {
	a, b := &s.ops[i], &s.ops[j]
	return a.response < b.response || (a.response == b.response && i < j)
}

// head is a configuration without its used crashed operations.
type head struct {
	value int32
	lin   bits
}

// usedCount reads how many crashed operations of kind k a configuration used.
func usedCount(used string, k int) uint32 {
	for j := 0; j+8 <= len(used); j += 8 {
		if int(binary.LittleEndian.Uint32([]byte(used[j:]))) == k {
			return binary.LittleEndian.Uint32([]byte(used[j+4:]))
		}
	}
	return 0
}

// withUsed sets the count of kind k, keeping the pairs sorted by kind.
func withUsed(used string, k int, n uint32) string {
	b := make([]byte, 0, len(used)+8)
	put := func(kind int, count uint32) {
		b = binary.LittleEndian.AppendUint32(b, uint32(kind))
		b = binary.LittleEndian.AppendUint32(b, count)
	}
	done := false
	for j := 0; j+8 <= len(used); j += 8 {
		kind := int(binary.LittleEndian.Uint32([]byte(used[j:])))
		count := binary.LittleEndian.Uint32([]byte(used[j+4:]))
		switch {
		case kind == k:
			put(k, n)
			done = true
		case kind > k && !done:
			put(k, n)
			put(kind, count)
			done = true
		default:
			put(kind, count)
		}
	}
	if !done {
		put(k, n)
	}
	return string(b)
}

// usedAtMost reports whether a used no more of every kind than b: a walk over both sorted
// lists of pairs.
func usedAtMost(a, b string) bool {
	j := 0
	for i := 0; i+8 <= len(a); i += 8 {
		k := le32(a, i)
		for j+8 <= len(b) && le32(b, j) < k {
			j += 8
		}
		if j+8 > len(b) || le32(b, j) != k || le32(a, i+4) > le32(b, j+4) {
			return false
		}
	}
	return true
}

// le32 reads the little-endian uint32 at s[i:].
func le32(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// prune drops configurations another one dominates: the same value and linearized set,
// and no more crashed operations used of any kind. The order of what is left is the order
// of next, so the sweep stays deterministic.
func (s *sweep) prune(next []config) []config {
	groups := make(map[head][]int)
	multi := false
	for i, c := range next {
		h := head{c.value, c.lin}
		groups[h] = append(groups[h], i)
		multi = multi || len(groups[h]) > 1
	}
	if !multi {
		return next
	}
	drop := make([]bool, len(next))
	for _, members := range groups {
		// Fewer uses first, so a dominating configuration is met before those it dominates.
		sort.SliceStable(members, func(a, b int) bool { return len(next[members[a]].used) < len(next[members[b]].used) })
		for x, i := range members {
			for _, j := range members[:x] {
				if !drop[j] && usedAtMost(next[j].used, next[i].used) {
					drop[i] = true
					break
				}
			}
		}
	}
	kept := next[:0]
	for i, c := range next {
		if !drop[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

// trim keeps a beam's width of configurations: those that used the fewest crashed
// operations and linearized the fewest open ones (the least committed), taken in turn from
// each value so that every value the key may hold stays represented.
func (s *sweep) trim(configs []config) []config {
	type ranked struct {
		c          config
		used, lins int
		order      int
	}
	byValue := make(map[int32][]ranked)
	var values []int32
	for i, c := range configs {
		r := ranked{c: c, lins: c.lin.count(), order: i}
		for j := 4; j+4 <= len(c.used); j += 8 {
			r.used += int(binary.LittleEndian.Uint32([]byte(c.used[j:])))
		}
		if _, ok := byValue[c.value]; !ok {
			values = append(values, c.value)
		}
		byValue[c.value] = append(byValue[c.value], r)
	}
	for _, v := range values {
		rs := byValue[v]
		sort.Slice(rs, func(a, b int) bool {
			if rs[a].used != rs[b].used {
				return rs[a].used < rs[b].used
			}
			if rs[a].lins != rs[b].lins {
				return rs[a].lins < rs[b].lins
			}
			return rs[a].order < rs[b].order
		})
	}
	kept := make([]config, 0, s.beam)
	for round := 0; len(kept) < s.beam; round++ {
		for _, v := range values {
			if rs := byValue[v]; round < len(rs) && len(kept) < s.beam {
				kept = append(kept, rs[round].c)
			}
		}
	}
	return kept
}
