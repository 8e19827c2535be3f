package condition

import (
	"strings"
	"time"
)

// Dates and datetimes are compared as fixed-width keys, identically in Go
// and in SQL, so that no cast can fail on a stored value and no rounding
// differs between the two:
//
//   - a date is its stored text "YYYY-MM-DD";
//   - a datetime (stored as RFC 3339 in UTC, "2026-11-23T18:00:00.5Z") is
//     "YYYY-MM-DDTHH:MM:SS" followed by exactly six fraction digits,
//     truncated or padded with zeros: microsecond precision, PostgreSQL's.
//
// Years run from 0000 to 9999, so byte order is time order. Slot columns
// (timestamptz) hold the same instants truncated to microseconds.

const dtKeyLen = 25

type dtKey [dtKeyLen]byte

// storedDTKey is the key of a stored datetime text. It mirrors the SQL
// expression dtKeySQL exactly; ok is false for text too short to be one.
func storedDTKey(s string) (k dtKey, ok bool) {
	if len(s) < 20 {
		return k, false
	}
	copy(k[:19], s[:19])
	frac := s[20:]
	for len(frac) > 0 && frac[len(frac)-1] == 'Z' {
		frac = frac[:len(frac)-1]
	}
	for i := 0; i < 6; i++ {
		if i < len(frac) {
			k[19+i] = frac[i]
		} else {
			k[19+i] = '0'
		}
	}
	return k, true
}

// dtKeySQL renders the key of a datetime text expression x in SQL.
func dtKeySQL(x string) string {
	return "(left(" + x + ", 19) || rpad(rtrim(substr(" + x + ", 21), 'Z'), 6, '0'))"
}

// timeKey is the key of an instant, truncated to microseconds. The year
// must be within 0 to 9999 (see inKeyRange).
func timeKey(t time.Time) dtKey {
	var k dtKey
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	put(k[0:4], y)
	k[4] = '-'
	put(k[5:7], int(mo))
	k[7] = '-'
	put(k[8:10], d)
	k[10] = 'T'
	put(k[11:13], h)
	k[13] = ':'
	put(k[14:16], mi)
	k[16] = ':'
	put(k[17:19], s)
	put(k[19:25], t.Nanosecond()/1000)
	return k
}

// dateKey is the UTC date of t as "YYYY-MM-DD".
func dateKey(t time.Time) [10]byte {
	var k [10]byte
	y, mo, d := t.UTC().Date()
	put(k[0:4], y)
	k[4] = '-'
	put(k[5:7], int(mo))
	k[7] = '-'
	put(k[8:10], d)
	return k
}

// put writes v in decimal, zero-padded to len(b) digits.
func put(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

func inKeyRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// floorMicro truncates t to the microsecond towards the past, as pgx does
// when it sends a time to PostgreSQL.
func floorMicro(t time.Time) time.Time {
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// parseDateLiteral accepts "YYYY-MM-DD".
func parseDateLiteral(s string) (string, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return "", false
	}
	return s, true
}

// parseInstantLiteral accepts an RFC 3339 date-time (any offset) or a date
// (midnight UTC), and returns the instant truncated to microseconds.
func parseInstantLiteral(s string) (time.Time, bool) {
	var t time.Time
	var err error
	if len(s) == len(time.DateOnly) {
		t, err = time.Parse(time.DateOnly, s)
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
		if strings.ContainsRune(s, ',') {
			return time.Time{}, false
		}
	}
	if err != nil {
		return time.Time{}, false
	}
	t = floorMicro(t)
	if !inKeyRange(t) {
		return time.Time{}, false
	}
	return t, true
}

// dateMidnight is the UTC midnight of a "YYYY-MM-DD" text, what a date slot holds.
func dateMidnight(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}
