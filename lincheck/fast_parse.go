package lincheck

// decomposer splits values of a key into the writes that made them: a base (the initial
// "", or a put or cas value) followed by appended values. It counts the ways (capped at
// two) by dynamic programming over the prefixes of the value. The tables for a prefix
// depend on that prefix alone, so they are kept from one value to the next and only the
// part after the common prefix is recomputed; values handed over in sorted order share long
// prefixes (an append-only key's reads are prefixes of one another), which keeps the work
// near the size of the history rather than the sum of its reads' lengths times their number.
type decomposer struct {
	ref         string  // the value the tables describe
	ways        []uint8 // ways[i]: decompositions of ref[:i], capped at 2
	piece, prev []int32 // when ways[i] == 1: the last write, and where it starts (-1: base)
	nodeAt      []int32 // the node already linked for the state ref[:i], or -1
	isBaseLen   []bool
	stack       []int32
}

func (d *decomposer) reset(baseLens []int) {
	n := 0
	if len(baseLens) > 0 {
		n = baseLens[len(baseLens)-1]
	}
	d.isBaseLen = make([]bool, n+1)
	for _, l := range baseLens {
		d.isBaseLen[l] = true
	}
	d.ref = ""
	d.ways, d.piece, d.prev, d.nodeAt = []uint8{1}, []int32{0}, []int32{-1}, []int32{0}
}

// run makes the tables describe s and returns the number of its decompositions.
func (f *fastChecker) run(s string) int {
	d := &f.dec
	m := commonPrefix(d.ref, s)
	d.ways, d.piece = grow(d.ways, len(s)+1), grow(d.piece, len(s)+1)
	d.prev, d.nodeAt = grow(d.prev, len(s)+1), grow(d.nodeAt, len(s)+1)
	for i := m + 1; i <= len(s); i++ {
		d.ways[i], d.nodeAt[i] = 0, -1
		if i < len(d.isBaseLen) && d.isBaseLen[i] {
			if w, ok := f.bases[s[:i]]; ok {
				d.ways[i], d.piece[i], d.prev[i] = 1, int32(w), -1
			}
		}
		for _, l := range f.appLens {
			if l > i || d.ways[i-l] == 0 {
				continue
			}
			if w, ok := f.apps[s[i-l:i]]; ok {
				d.ways[i] = min(2, d.ways[i]+d.ways[i-l])
				d.piece[i], d.prev[i] = int32(w), int32(i-l)
			}
		}
	}
	d.ref = s
	return int(d.ways[len(s)])
}

// commonPrefix is the length of the longest common prefix of a and b, found by bisection
// over string comparisons (memcmp) that each look only at the undecided half.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	if a[:n] == b[:n] {
		return n
	}
	lo, hi := 0, n // a[:lo] == b[:lo], and they differ in [lo, hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if a[lo:mid] == b[lo:mid] {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// stateNode returns the node of the state s, linking the writes that produced it into their
// chain, or parseImpossible or parseAmbiguous. It fails with a proof when two observations
// disagree about what came right before or right after a write. Only the writes after the
// longest prefix already linked are walked.
func (f *fastChecker) stateNode(s string) (int, *fastOutcome) {
	switch f.run(s) {
	case 0:
		return parseImpossible, nil
	case 2:
		return parseAmbiguous, nil
	}
	d := &f.dec
	i, stack := len(s), d.stack[:0]
	for d.nodeAt[i] < 0 && d.prev[i] >= 0 {
		stack = append(stack, int32(i))
		i = int(d.prev[i])
	}
	if d.nodeAt[i] < 0 { // s[:i] is the value of a put or a cas: a root of its own
		w := d.piece[i]
		f.used[w], d.nodeAt[i] = true, w+1
	}
	node := int(d.nodeAt[i])
	for k := len(stack) - 1; k >= 0; k-- {
		j := stack[k]
		w := int(d.piece[j])
		f.used[w] = true
		if bad := f.link(node, w+1); bad != nil {
			return 0, bad
		}
		node, d.nodeAt[j] = w+1, int32(w+1)
	}
	d.stack = stack
	return node, nil
}

// lastWrite decomposes s without linking anything, for a cas that did not swap and so
// says nothing about the order of writes. It returns the node of the last write (0 for the
// initial state) and the number of decompositions.
func (f *fastChecker) lastWrite(s string) (node, ways int) {
	ways = f.run(s)
	if ways != 1 || s == "" {
		return 0, ways
	}
	return int(f.dec.piece[len(s)]) + 1, 1
}
