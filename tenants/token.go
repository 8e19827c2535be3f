package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// Token describes an API token. The secret itself is never stored and is
// returned only by CreateToken.
type Token struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	Name     string `json:"name"`
	// UserID and UserEmail are set for a user's token, Integration for an
	// integration's; exactly one of the two.
	UserID      string `json:"userId,omitempty"`
	UserEmail   string `json:"userEmail,omitempty"`
	Integration string `json:"integration,omitempty"`
	// Role is the role the token acts with now: the user's membership role,
	// or the integration token's own.
	Role       string     `json:"role"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// TokenRequest asks for a new API token.
type TokenRequest struct {
	// Tenant is the slug or id of the tenant the token works in. Required.
	Tenant string
	// Name says what the token is for, e.g. "ci" or "erp-sync". Required.
	Name string
	// User (e-mail or id) makes a token that acts as that member of Tenant.
	User string
	// Integration (a name of letters, digits, '-', '_' and '.') makes a token
	// that acts as that integration rather than a person. Exactly one of User
	// and Integration must be set.
	Integration string
	// Role of an integration token: "member" (default) or "admin". Not
	// allowed for user tokens, which act with the user's role.
	Role string
	// TTL is the token's lifetime; zero means it never expires.
	TTL time.Duration
}

var integrationPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CreateToken mints a token and returns its plaintext, to be shown once.
// It records token.created in the tenant's audit log (never the secret;
// the actor and request come from ctx, see audit.WithRequest).
func (s *Service) CreateToken(ctx context.Context, req TokenRequest) (string, Token, error) {
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 100 {
		return "", Token{}, apierror.Invalidf("name", "invalid_name", "token name must be 1-100 bytes")
	}
	if (req.User == "") == (req.Integration == "") {
		return "", Token{}, apierror.Invalidf("user", "token_owner_required", "give exactly one of a user or an integration name")
	}
	if req.TTL < 0 {
		return "", Token{}, apierror.Invalidf("ttl", "invalid_ttl", "token lifetime must not be negative, got %s", req.TTL)
	}
	var role *string
	if req.Integration != "" {
		if !integrationPattern.MatchString(req.Integration) {
			return "", Token{}, apierror.Invalidf("integration", "invalid_integration",
				"integration name %q must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", req.Integration)
		}
		r := req.Role
		if r == "" {
			r = RoleMember
		}
		if err := validateRole(r); err != nil {
			return "", Token{}, err
		}
		role = &r
	} else if req.Role != "" {
		return "", Token{}, apierror.Invalidf("role", "role_not_allowed", "a user's token acts with the user's role; do not give one")
	}
	t, err := s.liveTenant(ctx, req.Tenant)
	if err != nil {
		return "", Token{}, err
	}
	var userID, integration *string
	if req.User != "" {
		u, err := s.User(ctx, req.User)
		if err != nil {
			return "", Token{}, err
		}
		userID = &u.ID
	} else {
		integration = &req.Integration
	}
	var expires *time.Time
	if req.TTL > 0 {
		e := time.Now().Add(req.TTL)
		expires = &e
	}
	sec, err := newSecret(tokenPrefix, t.ID)
	if err != nil {
		return "", Token{}, err
	}
	var id string
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_tokens (tenant_id, name, user_id, integration, role, secret_hash, hint, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			t.ID, req.Name, userID, integration, role, sec.hash, sec.hint, expires).Scan(&id)
		if err != nil {
			return err
		}
		d := map[string]any{"token": id, "name": req.Name, "hint": sec.hint, "expiresAt": expires}
		if userID != nil {
			d["user"] = *userID
		} else {
			d["integration"], d["role"] = *integration, *role
		}
		details, _ := json.Marshal(d)
		return s.audit.Append(ctx, tx, t.ID, audit.Entry{Action: audit.ActionTokenCreated, Details: details})
	})
	if database.IsCode(err, database.ForeignKeyViolation) {
		return "", Token{}, apierror.New(apierror.Invalid, "not_a_member", "user %q is not a member of tenant %q", req.User, t.Slug)
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("create token in %s: %w", t.Slug, err)
	}
	tok, err := s.token(ctx, t.ID, id)
	if err != nil {
		return "", Token{}, err
	}
	return sec.plaintext, tok, nil
}

const tokenSelect = `SELECT k.id, k.tenant_id, k.name, coalesce(k.user_id::text, ''), coalesce(u.email, ''),
	coalesce(k.integration, ''), coalesce(k.role, m.role, ''), k.hint, k.created_at, k.expires_at, k.last_used_at, k.revoked_at
	FROM api_tokens k
	LEFT JOIN tenant_members m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
	LEFT JOIN users u ON u.id = k.user_id
	WHERE k.tenant_id = $1`

func scanToken(r pgx.Row) (Token, error) {
	var t Token
	err := r.Scan(&t.ID, &t.TenantID, &t.Name, &t.UserID, &t.UserEmail, &t.Integration, &t.Role, &t.Hint,
		&t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
	return t, err
}

// GetToken returns one token of a live tenant.
func (s *Service) GetToken(ctx context.Context, tenantRef, id string) (Token, error) {
	if !isUUID(id) {
		return Token{}, apierror.Invalidf("id", "invalid_token_id", "token id %q is not a UUID", id)
	}
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return Token{}, err
	}
	return s.token(ctx, t.ID, id)
}

func (s *Service) token(ctx context.Context, tenantID, id string) (Token, error) {
	var t Token
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, tokenSelect+" AND k.id = $2", tenantID, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, apierror.New(apierror.NotFound, "token_not_found", "no token %q in this tenant", id)
	}
	if err != nil {
		return Token{}, fmt.Errorf("load token %s: %w", id, err)
	}
	return t, nil
}

// ListTokens returns a tenant's tokens, newest first, revoked ones included.
func (s *Service) ListTokens(ctx context.Context, tenantRef string) ([]Token, error) {
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	var out []Token
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, tokenSelect+" ORDER BY k.created_at DESC, k.id", t.ID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", t.Slug, err)
	}
	return out, nil
}

// RevokeToken revokes a token at once, recording token.revoked in the
// tenant's audit log (actor and request from ctx). Revoking a revoked token
// is a conflict.
func (s *Service) RevokeToken(ctx context.Context, tenantRef, id string) (Token, error) {
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return Token{}, err
	}
	if !isUUID(id) {
		return Token{}, apierror.Invalidf("id", "invalid_token_id", "token id %q is not a UUID", id)
	}
	tok, err := s.token(ctx, t.ID, id)
	if err != nil {
		return Token{}, err
	}
	if tok.RevokedAt != nil {
		return Token{}, apierror.New(apierror.Conflict, "token_already_revoked", "token %s was revoked at %s", id, tok.RevokedAt.Format(time.RFC3339))
	}
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL", t.ID, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		details, _ := json.Marshal(map[string]string{"token": id, "name": tok.Name, "hint": tok.Hint})
		return s.audit.Append(ctx, tx, t.ID, audit.Entry{Action: audit.ActionTokenRevoked, Details: details})
	})
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return s.token(ctx, t.ID, id)
}
