package condition

// dec is an exact decimal number read from its text (a JSON number or
// PostgreSQL's numeric output). Numbers of at most 18 significant digits
// are m × 10^e with m free of trailing zeros, so equal numbers have equal
// (m, e); longer ones keep their text and compare digit by digit. Parsing
// and comparing never allocate and never round.
type dec struct {
	m    int64 // small: the significant digits, signed; 0 for zero
	e    int64 // small: the exponent
	long bool  // more than 18 significant digits: use the fields below
	neg  bool
	lead int64 // position of the leading digit: |value| is in [10^(lead-1), 10^lead)
	// long numbers: their significant digits are src[first..last], skipping
	// a decimal point at dot (-1 for none).
	src         string
	first, last int
	dot         int
}

const maxDecDigits = 18 // 999,999,999,999,999,999 < 2^63

// maxExponent bounds the exponent of a number in e-notation; PostgreSQL's
// numeric holds at most 131072 digits before the point and 16383 after.
const maxExponent = 200000

// parseDec parses a number exactly. ok is false for text that is not one.
func parseDec(s string) (d dec, ok bool) {
	i, n := 0, len(s)
	if i < n && (s[i] == '-' || s[i] == '+') {
		d.neg = s[i] == '-'
		i++
	}
	var m uint64
	digits := 0 // significant digits so far
	zeros := 0  // zeros since the last non-zero digit, not yet in m
	seen := 0   // digits seen, significant or not
	intDigits := -1
	firstAt := -1 // index in seen-digits of the first non-zero digit
	d.first, d.last, d.dot = -1, -1, -1
	for ; i < n; i++ {
		c := s[i]
		if c == '.' {
			if intDigits >= 0 {
				return dec{}, false
			}
			intDigits = seen
			d.dot = i
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		seen++
		if c == '0' {
			if digits > 0 {
				zeros++
			}
			continue
		}
		if digits == 0 {
			firstAt = seen - 1
			d.first = i
		}
		d.last = i
		if digits+zeros+1 > maxDecDigits {
			d.long = true
		} else {
			for ; zeros > 0; zeros-- {
				m *= 10
				digits++
			}
			m = m*10 + uint64(c-'0')
			digits++
			continue
		}
		digits += zeros + 1
		zeros = 0
	}
	if seen == 0 || (intDigits == 0 && d.dot == 0) {
		return dec{}, false
	}
	if intDigits < 0 {
		intDigits = seen
	}
	var exp int64
	if i < n {
		if s[i] != 'e' && s[i] != 'E' {
			return dec{}, false
		}
		i++
		eneg := false
		if i < n && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		if i == n {
			return dec{}, false
		}
		for ; i < n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return dec{}, false
			}
			if exp = exp*10 + int64(c-'0'); exp > maxExponent {
				return dec{}, false
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if firstAt < 0 { // zero
		return dec{}, true
	}
	d.lead = int64(intDigits-firstAt) + exp
	if d.long {
		d.src = s
		if d.dot < d.first || d.dot > d.last {
			d.dot = -1
		}
		return d, true
	}
	d.m = int64(m)
	if d.neg {
		d.m = -d.m
	}
	// value = m × 10^e where the last significant digit sits at position
	// lead - digits (counting the leading digit's position as lead - 1).
	d.e = d.lead - int64(digits)
	d.src, d.first, d.last, d.dot = "", 0, 0, -1
	return d, true
}

// decInt returns the dec of a small integer (a version).
func decInt(v int64) dec {
	if v == 0 {
		return dec{}
	}
	neg := v < 0
	if neg {
		v = -v
	}
	u := uint64(v)
	if u > 999_999_999_999_999_999 {
		u = 999_999_999_999_999_999 // versions never come near; keep the small form
	}
	d := dec{m: int64(u), neg: neg, dot: -1}
	for d.m%10 == 0 {
		d.m /= 10
		d.e++
	}
	d.lead = numDigits(uint64(d.m)) + d.e
	if neg {
		d.m = -d.m
	}
	return d
}

func (d *dec) sign() int {
	switch {
	case d.m == 0 && !d.long:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

func numDigits(u uint64) int64 {
	n := int64(1)
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// digit returns the k-th significant digit of d (0 is the leading one),
// or false past the last.
func (d *dec) digit(k int) (byte, bool) {
	if !d.long {
		u := uint64(d.m)
		if d.m < 0 {
			u = uint64(-d.m)
		}
		n := int(numDigits(u))
		if k >= n {
			return 0, false
		}
		return byte(u/pow10[n-1-k]%10) + '0', true
	}
	i := d.first + k
	if d.dot >= 0 && i >= d.dot {
		i++
	}
	if i > d.last {
		return 0, false
	}
	return d.src[i], true
}

// cmpDec compares a and b exactly: -1, 0 or +1.
func cmpDec(a, b dec) int {
	sa, sb := a.sign(), b.sign()
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	case sa == 0:
		return 0
	}
	// Same sign, both non-zero: compare magnitudes, then apply the sign.
	c := 0
	switch {
	case a.lead < b.lead:
		c = -1
	case a.lead > b.lead:
		c = 1
	case !a.long && !b.long:
		// Same leading position: scale the one with the larger exponent
		// down to the other's; it then has as many digits as the other
		// (at most 18), so it cannot overflow.
		ua, ub := uint64(abs64(a.m)), uint64(abs64(b.m))
		if a.e > b.e {
			ua *= pow10[a.e-b.e]
		} else if b.e > a.e {
			ub *= pow10[b.e-a.e]
		}
		switch {
		case ua < ub:
			c = -1
		case ua > ub:
			c = 1
		}
	default:
		// Digit by digit; the last significant digit is never zero, so
		// the number that runs out first is the smaller.
		for k := 0; c == 0; k++ {
			x, okA := a.digit(k)
			y, okB := b.digit(k)
			switch {
			case !okA && !okB:
				return 0
			case !okA || (okB && x < y):
				c = -1
			case !okB || x > y:
				c = 1
			}
		}
	}
	return c * sa
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
