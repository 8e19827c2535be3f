package tenants

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
)

// Options configures a Service. The zero value of each field means its
// documented default.
type Options struct {
	// SessionTTL is how long a login session lasts. Default 12h.
	SessionTTL time.Duration
	// LoginLimits bounds failed logins per account and per address.
	// Default DefaultLoginLimits.
	LoginLimits LoginLimits
	// Logger receives security events (failed logins, rate limiting); it
	// never receives passwords or secrets. Default slog.Default().
	Logger *slog.Logger
}

// Service manages tenants, users, sessions and tokens. It is safe for
// concurrent use.
type Service struct {
	pool    *pgxpool.Pool
	opts    Options
	limiter *loginLimiter
	log     *slog.Logger
	// audit records logins, failed logins, logouts and token use.
	audit *audit.Log
	// dummyHash is verified against when a login names an unknown user, so
	// that unknown and known users take the same time to reject.
	dummyHash string
}

// New returns a Service on pool, which should connect as the lattice_app role.
func New(pool *pgxpool.Pool, opts Options) (*Service, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	// Default each limit on its own: a zero burst would lock out for good.
	l, d := &opts.LoginLimits, DefaultLoginLimits
	if l.PerAccountBurst <= 0 {
		l.PerAccountBurst = d.PerAccountBurst
	}
	if l.PerAccountEvery <= 0 {
		l.PerAccountEvery = d.PerAccountEvery
	}
	if l.PerAddressBurst <= 0 {
		l.PerAddressBurst = d.PerAddressBurst
	}
	if l.PerAddressEvery <= 0 {
		l.PerAddressEvery = d.PerAddressEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dummy, err := HashPassword("lattice-timing-equaliser")
	if err != nil {
		return nil, fmt.Errorf("prepare login timing hash: %w", err)
	}
	return &Service{
		pool:      pool,
		opts:      opts,
		limiter:   newLoginLimiter(opts.LoginLimits),
		log:       opts.Logger,
		audit:     audit.New(pool, opts.Logger),
		dummyHash: dummy,
	}, nil
}
