package entropy

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Ratio is a probability Num/Den, 0 ≤ Num ≤ Den, Den > 0. Probabilities are ratios so that
// no float rounding can make two machines disagree. The zero value is the zero probability.
type Ratio struct {
	Num uint64
	Den uint64
}

// Never is the zero probability.
var Never = Ratio{Num: 0, Den: 1}

// Percent returns n/100.
func Percent(n uint64) Ratio { return Ratio{Num: n, Den: 100} }

// PerMillion returns n/1,000,000.
func PerMillion(n uint64) Ratio { return Ratio{Num: n, Den: 1_000_000} }

// IsZero reports whether the event can never happen.
func (p Ratio) IsZero() bool { return p.Num == 0 }

// Valid reports whether p is a probability.
func (p Ratio) Valid() bool { return p.Num == 0 || (p.Den > 0 && p.Num <= p.Den) }

// String renders "num/den", which ParseRatio reads back.
func (p Ratio) String() string {
	if p.Num == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%d", p.Num, p.Den)
}

// PercentString renders the probability as a percentage for people.
func (p Ratio) PercentString() string {
	if p.Num == 0 {
		return "0%"
	}
	r := new(big.Rat).SetFrac(new(big.Int).SetUint64(p.Num), new(big.Int).SetUint64(p.Den))
	r.Mul(r, big.NewRat(100, 1))
	return strings.TrimRight(strings.TrimRight(r.FloatString(4), "0"), ".") + "%"
}

// MarshalText renders "num/den".
func (p Ratio) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads what ParseRatio reads.
func (p *Ratio) UnmarshalText(text []byte) error {
	r, err := ParseRatio(string(text))
	if err != nil {
		return err
	}
	*p = r
	return nil
}

// ParseRatio reads a probability written as "n/d", a decimal fraction ("0.05"), or a
// percentage ("5%", "0.02%"). Decimals are read exactly, never through a float.
func ParseRatio(text string) (Ratio, error) {
	text = strings.TrimSpace(text)
	if num, den, ok := strings.Cut(text, "/"); ok {
		n, err1 := strconv.ParseUint(num, 10, 64)
		d, err2 := strconv.ParseUint(den, 10, 64)
		if err1 != nil || err2 != nil || d == 0 || n > d {
			return Ratio{}, fmt.Errorf("probability %q: want n/d with 0 ≤ n ≤ d and d > 0", text)
		}
		return Ratio{Num: n, Den: d}, nil
	}
	scale := uint64(1)
	body := text
	if strings.HasSuffix(body, "%") {
		body = strings.TrimSuffix(body, "%")
		scale = 100
	}
	if body == "" {
		return Ratio{}, fmt.Errorf("probability is empty: want n/d, a decimal such as 0.05, or 5%%")
	}
	whole, frac, _ := strings.Cut(body, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > 12 || !digits(whole) || !digits(frac) {
		return Ratio{}, fmt.Errorf("probability %q: want n/d, a decimal such as 0.05, or 5%%", text)
	}
	den := scale
	for range frac {
		den *= 10
	}
	num, err := strconv.ParseUint(whole+frac, 10, 64)
	if err != nil || num > den {
		return Ratio{}, fmt.Errorf("probability %q is not between 0 and 1", text)
	}
	return reduce(Ratio{Num: num, Den: den}), nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func reduce(p Ratio) Ratio {
	a, b := p.Num, p.Den
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return Ratio{Num: 0, Den: 1}
	}
	return Ratio{Num: p.Num / a, Den: p.Den / a}
}
