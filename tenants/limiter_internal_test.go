package tenants

import (
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	t.Parallel()
	l := newLoginLimiter(LoginLimits{
		PerAccountBurst: 2, PerAccountEvery: time.Minute,
		PerAddressBurst: 3, PerAddressEvery: 10 * time.Second,
	})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	if w := l.wait("acme|a@example.com", "192.0.2.1", now); w != 0 {
		t.Fatalf("wait before any failure = %s, want 0", w)
	}
	l.fail("acme|a@example.com", "192.0.2.1", now)
	if w := l.wait("acme|a@example.com", "192.0.2.1", now); w != 0 {
		t.Fatalf("wait after 1 of 2 allowed failures = %s, want 0", w)
	}
	l.fail("acme|a@example.com", "192.0.2.1", now)
	if w := l.wait("acme|a@example.com", "192.0.2.2", now); w != time.Minute {
		t.Fatalf("account wait after its burst = %s, want 1m", w)
	}
	// The address has one failure left, so another account from it may try.
	if w := l.wait("acme|b@example.com", "192.0.2.1", now); w != 0 {
		t.Fatalf("other account, same address: wait = %s, want 0", w)
	}
	// Half the refill period later, half the wait remains.
	if w := l.wait("acme|a@example.com", "192.0.2.2", now.Add(30*time.Second)); w != 30*time.Second {
		t.Fatalf("account wait 30s later = %s, want 30s", w)
	}
	if w := l.wait("acme|a@example.com", "192.0.2.2", now.Add(time.Minute)); w != 0 {
		t.Fatalf("account wait one period later = %s, want 0", w)
	}

	// A third failure from the address, on another account, exhausts it.
	l.fail("acme|b@example.com", "192.0.2.1", now)
	if w := l.wait("acme|c@example.com", "192.0.2.1", now); w != 10*time.Second {
		t.Fatalf("address wait after its burst = %s, want 10s", w)
	}
	if w := l.wait("acme|c@example.com", "192.0.2.9", now); w != 0 {
		t.Fatalf("fresh account and address: wait = %s, want 0", w)
	}
	// The larger of the two waits applies.
	if w := l.wait("acme|a@example.com", "192.0.2.1", now); w != time.Minute {
		t.Fatalf("exhausted account and address: wait = %s, want 1m", w)
	}
}
