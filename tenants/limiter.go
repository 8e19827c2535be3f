package tenants

import (
	"math"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// LoginLimits bounds failed password logins. Each failure spends one token
// from the account's bucket and one from the address's bucket; a login is
// refused while either bucket is empty. Successful logins spend nothing.
// The limits are kept per server process, in bounded memory.
type LoginLimits struct {
	// PerAccountBurst failures are allowed at once for one tenant+email.
	PerAccountBurst int
	// PerAccountEvery is how often one more failure is allowed after that.
	PerAccountEvery time.Duration
	// PerAddressBurst failures are allowed at once from one client address.
	PerAddressBurst int
	// PerAddressEvery is how often one more is allowed after that.
	PerAddressEvery time.Duration
}

// DefaultLoginLimits allows 5 quick failures per account (then one per
// minute) and 20 per address (then one every 10 seconds).
var DefaultLoginLimits = LoginLimits{
	PerAccountBurst: 5, PerAccountEvery: time.Minute,
	PerAddressBurst: 20, PerAddressEvery: 10 * time.Second,
}

// trackedKeys bounds memory: the least recently failing keys are forgotten.
const trackedKeys = 100_000

type loginLimiter struct {
	limits    LoginLimits
	mu        sync.Mutex
	accounts  *lru.Cache[string, *rate.Limiter]
	addresses *lru.Cache[string, *rate.Limiter]
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	accounts, _ := lru.New[string, *rate.Limiter](trackedKeys) // errors only for size <= 0
	addresses, _ := lru.New[string, *rate.Limiter](trackedKeys)
	return &loginLimiter{limits: l, accounts: accounts, addresses: addresses}
}

// wait returns how long the caller must wait before trying account from
// address again; zero means go ahead.
func (l *loginLimiter) wait(account, address string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := time.Duration(0)
	if lim, ok := l.accounts.Get(account); ok {
		w = max(w, untilToken(lim, now))
	}
	if lim, ok := l.addresses.Get(address); ok {
		w = max(w, untilToken(lim, now))
	}
	return w
}

// fail records one failed login of account from address.
func (l *loginLimiter) fail(account, address string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	spend(l.accounts, account, l.limits.PerAccountEvery, l.limits.PerAccountBurst, now)
	spend(l.addresses, address, l.limits.PerAddressEvery, l.limits.PerAddressBurst, now)
}

func spend(c *lru.Cache[string, *rate.Limiter], key string, every time.Duration, burst int, now time.Time) {
	lim, ok := c.Get(key)
	if !ok {
		lim = rate.NewLimiter(rate.Every(every), burst)
		c.Add(key, lim)
	}
	lim.AllowN(now, 1)
}

func untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	secs := (1 - tokens) / float64(lim.Limit())
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}
