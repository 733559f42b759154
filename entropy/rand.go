package entropy

import "math/bits"

// Rand turns raw draws into the decisions a simulation makes. All arithmetic is integer.
type Rand struct {
	source Source
}

// New wraps a source.
func New(source Source) *Rand { return &Rand{source: source} }

// Uint64 returns a raw draw.
func (r *Rand) Uint64() uint64 { return r.source.Uint64() }

// IntN returns a number in [0, n), n > 0, by Lemire's multiply-high. It takes exactly one
// draw and never loops (a zero draw gives zero); the bias is below n/2^64, immaterial for
// the n a simulation uses.
func (r *Rand) IntN(n uint64) uint64 {
	if n == 0 {
		panic("entropy: IntN(0)")
	}
	hi, _ := bits.Mul64(r.source.Uint64(), n)
	return hi
}

// Int returns an int in [0, n), n > 0.
func (r *Rand) Int(n int) int {
	if n <= 0 {
		panic("entropy: Int(n) needs n > 0")
	}
	return int(r.IntN(uint64(n)))
}

// Range returns a number in [min, max], inclusive. A zero draw gives min.
func (r *Rand) Range(min, max uint64) uint64 {
	if min > max {
		panic("entropy: Range with min > max")
	}
	if max-min == ^uint64(0) {
		return r.source.Uint64()
	}
	return min + r.IntN(max-min+1)
}

// RangeInt64 returns a number in [min, max], inclusive.
func (r *Rand) RangeInt64(min, max int64) int64 {
	if min > max {
		panic("entropy: RangeInt64 with min > max")
	}
	return min + int64(r.Range(0, uint64(max-min)))
}

// Chance is true with probability p. A zero probability never draws; a zero draw is false
// unless p is certain.
func (r *Rand) Chance(p Ratio) bool {
	if p.Num == 0 {
		return false
	}
	if p.Num >= p.Den {
		return true
	}
	return r.IntN(p.Den) >= p.Den-p.Num
}

// Bool is a fair coin.
func (r *Rand) Bool() bool { return r.source.Uint64()>>63 == 1 }

// ExpTicks returns max(min, X) where X is exponentially distributed with the given mean,
// rounded down to whole ticks. A zero draw gives min. X is at most 44.4 times the mean
// (-ln(2^-64)), so delays are bounded.
func (r *Rand) ExpTicks(min, mean uint64) uint64 {
	if mean == 0 {
		return min
	}
	if mean > 1<<30 {
		panic("entropy: ExpTicks mean too large")
	}
	x := ExpScaled(r.source.Uint64(), mean)
	if x < min {
		return min
	}
	return x
}

// ExpScaled maps a raw draw to mean·(−ln u), u = 1 − draw/2^64, in integers: the inverse
// CDF of the exponential distribution. Exported for the golden tests.
func ExpScaled(draw uint64, mean uint64) uint64 {
	y := ^draw // 2^64·u − 1: a zero draw means u = 1, the shortest delay.
	if y == 0 {
		y = 1
	}
	// −ln u = ln2 · (64 − log2 y), in Q16 fixed point.
	e := uint64(64<<16) - log2Q16(y)
	const ln2Q16 = 45426 // round(ln 2 · 2^16)
	hi, lo := bits.Mul64(mean*e, ln2Q16)
	return hi<<32 | lo>>32
}

// log2Q16 returns log2(y) in Q16 fixed point, y > 0: the integer part from the highest set
// bit, the fraction from a table indexed by the next log2TableBits bits. The error is below
// 2^-11 (the fraction's truncation, times 1/ln 2), a thousandth of a tick for a mean delay
// of ten ticks: sampling a delay costs a table lookup instead of sixteen multiplications.
func log2Q16(y uint64) uint64 {
	n := uint64(bits.Len64(y) - 1)
	fraction := (y << (63 - n)) << 1 >> (64 - log2TableBits) // the bits after the leading one
	return n<<16 | uint64(log2Table[fraction])
}

const log2TableBits = 12

// log2Table[i] is the Q16 fraction of log2(1 + i/4096), computed once at start by the exact
// integer method below, so every architecture holds the same table.
var log2Table = func() [1 << log2TableBits]uint16 {
	var table [1 << log2TableBits]uint16
	for i := range table {
		table[i] = uint16(log2Q16Exact(uint64(1<<log2TableBits+i) << (63 - log2TableBits)))
	}
	return table
}()

// log2Q16Exact returns log2(y) in Q16 fixed point, y > 0, by the bit-by-bit squaring method.
func log2Q16Exact(y uint64) uint64 {
	n := uint64(bits.Len64(y) - 1)
	z := y << (63 - n) // z/2^63 in [1, 2)
	result := n << 16
	for bit := uint64(1 << 15); bit > 0; bit >>= 1 {
		hi, lo := bits.Mul64(z, z) // z² / 2^126 in [1, 4)
		if hi>>63 == 1 {
			// z² ≥ 2: this fraction bit is set, halve.
			z = hi
			result |= bit
		} else {
			z = hi<<1 | lo>>63
		}
	}
	return result
}

// Shuffle permutes n elements (Fisher–Yates). A zero stream leaves the order unchanged.
func (r *Rand) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		j := i - int(r.IntN(uint64(i+1)))
		swap(i, j)
	}
}

// Weighted picks an index with probability proportional to its weight. A zero draw picks
// the first index with a nonzero weight.
func (r *Rand) Weighted(weights []uint64) int {
	var total uint64
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		panic("entropy: Weighted with no positive weight")
	}
	pick := r.IntN(total)
	for i, w := range weights {
		if pick < w {
			return i
		}
		pick -= w
	}
	panic("entropy: Weighted fell through")
}
