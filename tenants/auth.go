package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// How a principal authenticated.
const (
	ViaToken   = "token"
	ViaSession = "session"
)

// Principal is who a request acts as, in which tenant.
type Principal struct {
	TenantID   string `json:"tenantId"`
	TenantSlug string `json:"tenantSlug"`
	TenantName string `json:"tenantName"`
	// UserID and Email identify the user; empty for an integration token.
	UserID string `json:"userId,omitempty"`
	Email  string `json:"email,omitempty"`
	// Integration names the integration an integration token acts as.
	Integration string `json:"integration,omitempty"`
	// Role is "admin" or "member".
	Role string `json:"role"`
	// Via is ViaToken or ViaSession; CredentialID is that token's or session's id.
	Via          string    `json:"via"`
	CredentialID string    `json:"credentialId"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
}

// AuditActor is how the audit log names the principal: "user:<id>" or
// "integration:<name>".
func (p Principal) AuditActor() string {
	if p.Integration != "" {
		return "integration:" + p.Integration
	}
	return "user:" + p.UserID
}

var errBadCredential = apierror.New(apierror.Unauthenticated, "invalid_token", "the token is not valid")

// authSQL reads a credential and its tenant in one statement. The tenants
// table has no row policy; the credential tables do, and the batch has set
// the tenant the credential names, so a credential whose tenant part was
// altered simply finds nothing.
const (
	tokenAuthSQL = `SELECT k.id, coalesce(k.user_id::text, ''), coalesce(u.email, ''), coalesce(k.integration, ''),
		coalesce(k.role, m.role, ''), k.expires_at, k.revoked_at IS NOT NULL, k.expires_at <= now(),
		n.slug, n.name, n.status, n.suspended_reason, n.deleted_at IS NOT NULL
		FROM api_tokens k JOIN tenants n ON n.id = k.tenant_id
		LEFT JOIN tenant_members m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
		LEFT JOIN users u ON u.id = k.user_id
		WHERE k.tenant_id = $1 AND k.secret_hash = $2`
	// touchTokenSQL records use at most once a minute, so reads do not all
	// turn into writes; each time it does, it appends a token.used entry
	// to the audit log in the same statement (actor: the token's user or
	// integration; $3 and $4 the request id and client address).
	touchTokenSQL = `WITH touched AS (
		UPDATE api_tokens SET last_used_at = now()
		WHERE tenant_id = $1 AND secret_hash = $2 AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > now())
		AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
		AND EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND status = 'active' AND deleted_at IS NULL)
		RETURNING tenant_id, id, name, user_id, integration)
	INSERT INTO audit_log (tenant_id, actor, action, request_id, address, details)
	SELECT tenant_id, CASE WHEN user_id IS NOT NULL THEN 'user:' || user_id::text ELSE 'integration:' || integration END,
		'` + audit.ActionTokenUsed + `', left($3, 200), left($4, 200), jsonb_build_object('token', id, 'name', name)
	FROM touched`
	sessionAuthSQL = `SELECT s.id, s.user_id::text, u.email, '', coalesce(m.role, ''), s.expires_at, false, s.expires_at <= now(),
		n.slug, n.name, n.status, n.suspended_reason, n.deleted_at IS NOT NULL
		FROM sessions s JOIN tenants n ON n.id = s.tenant_id
		JOIN users u ON u.id = s.user_id
		LEFT JOIN tenant_members m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
		WHERE s.tenant_id = $1 AND s.secret_hash = $2`
)

// Authenticate resolves an API token or session token to a Principal in
// one round trip to PostgreSQL. An API token's use is recorded at most once
// a minute, as its last use and as a token.used audit entry (with the
// request id and address of ctx's audit.Request), in the same round trip. It fails with invalid_token, token_expired,
// token_revoked, session_expired (all Unauthenticated), tenant_suspended
// (Forbidden) or tenant_deleted (Unauthenticated).
func (s *Service) Authenticate(ctx context.Context, credential string) (Principal, error) {
	ps, ok := parseSecret(credential)
	if !ok {
		return Principal{}, errBadCredential
	}
	b := &pgx.Batch{}
	if ps.prefix == tokenPrefix {
		req := audit.RequestFrom(ctx)
		b.Queue(tokenAuthSQL, ps.tenantID, ps.hash)
		b.Queue(touchTokenSQL, ps.tenantID, ps.hash, req.ID, req.Address)
	} else {
		b.Queue(sessionAuthSQL, ps.tenantID, ps.hash)
	}
	br, err := database.SendTenantBatch(ctx, s.pool, ps.tenantID, b)
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	defer br.Close()
	p := Principal{TenantID: ps.tenantID, Via: ViaToken}
	if ps.prefix == sessionPrefix {
		p.Via = ViaSession
	}
	var expiresAt *time.Time
	var revoked, deleted bool
	var expired *bool
	var status, reason string
	err = br.QueryRow().Scan(&p.CredentialID, &p.UserID, &p.Email, &p.Integration, &p.Role, &expiresAt,
		&revoked, &expired, &p.TenantSlug, &p.TenantName, &status, &reason, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, errBadCredential
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if expiresAt != nil {
		p.ExpiresAt = *expiresAt
	}
	switch {
	case deleted:
		return Principal{}, apierror.New(apierror.Unauthenticated, "tenant_deleted", "tenant %q has been deleted", p.TenantSlug)
	case revoked:
		return Principal{}, apierror.New(apierror.Unauthenticated, "token_revoked", "the token has been revoked")
	case expired != nil && *expired && p.Via == ViaSession:
		return Principal{}, apierror.New(apierror.Unauthenticated, "session_expired", "the session expired at %s; log in again", p.ExpiresAt.UTC().Format(time.RFC3339))
	case expired != nil && *expired:
		return Principal{}, apierror.New(apierror.Unauthenticated, "token_expired", "the token expired at %s", p.ExpiresAt.UTC().Format(time.RFC3339))
	case status == StatusSuspended:
		return Principal{}, errSuspended(Tenant{Slug: p.TenantSlug, SuspendedReason: reason})
	case p.Role == "":
		// The user was removed from the tenant; their credentials cascade
		// away, so this is only a race with that removal.
		return Principal{}, errBadCredential
	}
	if p.Via == ViaToken {
		if _, err := br.Exec(); err != nil {
			return Principal{}, fmt.Errorf("record token use: %w", err)
		}
	}
	return p, nil
}

func errSuspended(t Tenant) error {
	msg := fmt.Sprintf("tenant %q is suspended", t.Slug)
	if t.SuspendedReason != "" {
		msg += ": " + t.SuspendedReason
	}
	return &apierror.Error{Kind: apierror.Forbidden, Code: "tenant_suspended", Message: msg}
}
