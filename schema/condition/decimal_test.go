package condition

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomNumber writes a number in any JSON notation, with up to 30 digits.
func randomNumber(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(3) == 0 {
		b.WriteByte('-')
	}
	digits := func(n int) {
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
	}
	if rng.IntN(4) == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + rng.IntN(9)))
		digits(rng.IntN(22))
	}
	if rng.IntN(2) == 0 {
		b.WriteByte('.')
		digits(1 + rng.IntN(12))
		if rng.IntN(3) == 0 {
			b.WriteString("000")
		}
	}
	if rng.IntN(4) == 0 {
		fmt.Fprintf(&b, "e%d", rng.IntN(61)-30)
	}
	return b.String()
}

func TestDecMatchesBigRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := []string{"0", "-0", "0.0", "1", "1.0", "10", "1e1", "100e-1", "999999999999999999", "1000000000000000000",
		"999999999999999999.5", "123456789012345678901234567890", "1234567890123456789012345678901e-1", "0.000000000000000000001",
		"-5", "-5.00", "2.5e2", "250", "9223372036854775807", "-9223372036854775808", "1e200", "1e-200"}
	for i := 0; i < 20000; i++ {
		pool = append(pool, randomNumber(rng))
	}
	for i := 0; i < 200000; i++ {
		a, b := pool[rng.IntN(len(pool))], pool[rng.IntN(len(pool))]
		if rng.IntN(5) == 0 {
			b = a
		}
		da, ok1 := parseDec(a)
		db, ok2 := parseDec(b)
		ra, _ := new(big.Rat).SetString(a)
		rb, _ := new(big.Rat).SetString(b)
		if !ok1 || !ok2 {
			t.Fatalf("parse %q %q: %v %v", a, b, ok1, ok2)
		}
		if got, want := cmpDec(da, db), ra.Cmp(rb); got != want {
			t.Fatalf("cmp(%s, %s) = %d, want %d (%+v %+v)", a, b, got, want, da, db)
		}
	}
	for _, v := range []int64{0, 1, -1, 10, 120, -4500, 1 << 40} {
		d := decInt(v)
		p, _ := parseDec(fmt.Sprint(v))
		if cmpDec(d, p) != 0 || cmpDec(d, decInt(v+1)) != -1 {
			t.Errorf("decInt(%d) = %+v", v, d)
		}
	}
	for _, bad := range []string{"", "-", ".", "1e", "1e+", "a", "1.2.3", "1x", "1e999999", "--1"} {
		if _, ok := parseDec(bad); ok {
			t.Errorf("parseDec(%q) accepted", bad)
		}
	}
}
