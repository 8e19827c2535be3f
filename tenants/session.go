package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// LoginRequest is a password login to one tenant.
type LoginRequest struct {
	Tenant   string `json:"tenant"` // slug
	Email    string `json:"email"`
	Password string `json:"password"`
	// RemoteAddr is the client's address (host only), for rate limiting.
	// RemoteAddr is also recorded in the audit log with the login.
	RemoteAddr string `json:"-"`
	UserAgent  string `json:"-"`
}

// Session is a login session.
type Session struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenantId"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

var errBadLogin = apierror.New(apierror.Unauthenticated, "invalid_credentials", "e-mail or password is wrong")

// Login checks a password and opens a session, returning its plaintext
// token. Unknown users, wrong passwords and non-members all get the same
// invalid_credentials error after the same work, and count as failures for
// rate limiting.
//
// A login to an existing tenant is recorded in its audit log: auth.login
// (actor user:<id>, in the session's transaction) or auth.login_failed
// (actor the e-mail address tried, never the password, with reason
// invalid_credentials whichever check failed). Both carry req.RemoteAddr
// and the request id of ctx (audit.RequestFrom). Attempts refused by the
// rate limiter, or naming no live tenant, are logged but not recorded.
func (s *Service) Login(ctx context.Context, req LoginRequest) (string, Session, error) {
	if req.Tenant == "" {
		return "", Session{}, apierror.Invalidf("tenant", "tenant_required", "tenant slug is required")
	}
	if req.Email == "" || req.Password == "" {
		return "", Session{}, apierror.Invalidf("email", "credentials_required", "e-mail and password are required")
	}
	// Login ignores e-mail case, so the per-account limit must too.
	account := req.Tenant + "|" + strings.ToLower(req.Email)
	now := time.Now()
	if wait := s.limiter.wait(account, req.RemoteAddr, now); wait > 0 {
		s.log.WarnContext(ctx, "login rate limited", "tenant", req.Tenant, "email", req.Email, "remote", req.RemoteAddr)
		wait = wait.Round(time.Second) + time.Second
		return "", Session{}, &apierror.Error{Kind: apierror.TooManyRequests, Code: "too_many_attempts",
			Message: fmt.Sprintf("too many failed logins; retry in %s", wait), RetryAfter: wait}
	}
	fail := func(err error) (string, Session, error) {
		s.limiter.fail(account, req.RemoteAddr, now)
		s.log.WarnContext(ctx, "login failed", "tenant", req.Tenant, "email", req.Email, "remote", req.RemoteAddr)
		return "", Session{}, err
	}
	if err := ValidateSlug(req.Tenant); err != nil || isUUID(req.Tenant) {
		// Login names a tenant by slug only, so one account has one bucket.
		return fail(apierror.Invalidf("tenant", "invalid_slug", "tenant %q is not a valid tenant slug", req.Tenant))
	}
	t, err := s.liveTenant(ctx, req.Tenant)
	failIn := func(err error) (string, Session, error) {
		// Recorded in a transaction of its own: the login fails whatever
		// happens to the record of it.
		details, _ := json.Marshal(map[string]string{"reason": "invalid_credentials"})
		if aerr := s.audit.Append(ctx, nil, t.ID, audit.Entry{Actor: loginActor(req.Email), Action: audit.ActionLoginFailed,
			Address: req.RemoteAddr, Details: details}); aerr != nil {
			s.log.ErrorContext(ctx, "record failed login", "tenant", req.Tenant, "err", aerr)
		}
		return fail(err)
	}
	if err != nil {
		if e, ok := apierror.As(err); ok && e.Kind == apierror.NotFound {
			return fail(err)
		}
		return "", Session{}, err
	}
	if t.Status == StatusSuspended {
		return "", Session{}, errSuspended(t)
	}
	// One round trip: the user's hash and whether they belong to the tenant.
	var userID, hash string
	var member bool
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT u.id, u.password_hash,
			EXISTS (SELECT 1 FROM tenant_members m WHERE m.tenant_id = $1 AND m.user_id = u.id)
			FROM users u WHERE u.email = lower($2)`, t.ID, req.Email).Scan(&userID, &hash, &member)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		_, _ = VerifyPassword(s.dummyHash, req.Password)
		return failIn(errBadLogin)
	}
	if err != nil {
		return "", Session{}, fmt.Errorf("look up login %s: %w", req.Email, err)
	}
	ok, err := VerifyPassword(hash, req.Password)
	if err != nil {
		return "", Session{}, fmt.Errorf("verify password of %s: %w", req.Email, err)
	}
	if !ok || !member {
		return failIn(errBadLogin)
	}
	sec, err := newSecret(sessionPrefix, t.ID)
	if err != nil {
		return "", Session{}, err
	}
	sess := Session{TenantID: t.ID, UserID: userID, ExpiresAt: now.Add(s.opts.SessionTTL).UTC().Truncate(time.Microsecond)}
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO sessions (tenant_id, user_id, secret_hash, expires_at, remote_addr, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.ID, userID, sec.hash, sess.ExpiresAt, req.RemoteAddr, truncate(req.UserAgent, 500)).Scan(&sess.ID)
		if err != nil {
			return err
		}
		details, _ := json.Marshal(map[string]string{"session": sess.ID, "userAgent": truncate(req.UserAgent, 200)})
		return s.audit.Append(ctx, tx, t.ID, audit.Entry{Actor: "user:" + userID, Action: audit.ActionLogin,
			Address: req.RemoteAddr, Details: details})
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("open session for %s: %w", req.Email, err)
	}
	return sec.plaintext, sess, nil
}

// Logout ends the session p authenticated with, recording auth.logout in
// the audit log in the same transaction. It is an error to log out with an
// API token: tokens are revoked instead.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.Via != ViaSession {
		return apierror.New(apierror.Invalid, "not_a_session", "logout ends a session; revoke an API token instead")
	}
	return database.InTenantTx(ctx, s.pool, p.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM sessions WHERE tenant_id = $1 AND id = $2", p.TenantID, p.CredentialID)
		if err != nil {
			return fmt.Errorf("end session %s: %w", p.CredentialID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // already ended
		}
		details, _ := json.Marshal(map[string]string{"session": p.CredentialID})
		return s.audit.Append(ctx, tx, p.TenantID, audit.Entry{Actor: p.AuditActor(), Action: audit.ActionLogout, Details: details})
	})
}

// loginActor is the actor of a failed login: the e-mail address tried,
// lower-cased (as logins compare it), cut to what the audit log holds.
func loginActor(email string) string {
	a := strings.ToValidUTF8(strings.ToLower(strings.TrimSpace(email)), "")
	if len(a) > audit.MaxActorLen {
		a = strings.ToValidUTF8(a[:audit.MaxActorLen], "")
	}
	if a == "" {
		a = "unknown"
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
