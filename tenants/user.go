package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
)

// Membership roles. Finer permissions come from casbin policies; the
// membership role says whether a user administers the tenant at all.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// User is a person's identity, shared by every tenant they belong to.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Member is a user's membership of one tenant.
type Member struct {
	User
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joinedAt"`
}

// NormalizeEmail validates a bare e-mail address and returns it lower-cased.
func NormalizeEmail(email string) (string, error) {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", apierror.Invalidf("email", "invalid_email", "%q is not a valid e-mail address", email)
	}
	return strings.ToLower(email), nil
}

func validateRole(role string) error {
	if role != RoleAdmin && role != RoleMember {
		return apierror.Invalidf("role", "invalid_role", "role must be %q or %q, got %q", RoleAdmin, RoleMember, role)
	}
	return nil
}

// CreateUser creates a user with the given password (checked against the
// password policy and stored as an argon2id hash).
func (s *Service) CreateUser(ctx context.Context, email, name, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if len(name) > 200 {
		return User{}, apierror.Invalidf("name", "invalid_name", "user name must be at most 200 bytes")
	}
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.pool.QueryRow(ctx,
		"INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name, created_at",
		email, name, hash).Scan(&u.ID, &u.Email, &u.Name, &u.CreatedAt)
	if database.ConstraintViolated(err) == "users_email_key" {
		return User{}, &apierror.Error{Kind: apierror.Conflict, Code: "email_taken", Field: "email",
			Message: fmt.Sprintf("a user with e-mail %q already exists", email)}
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	return u, nil
}

// User returns the user whose e-mail or id is ref.
func (s *Service) User(ctx context.Context, ref string) (User, error) {
	col, val := "email", strings.ToLower(ref)
	if isUUID(ref) {
		col, val = "id", ref
	}
	var u User
	err := s.pool.QueryRow(ctx, "SELECT id, email, name, created_at FROM users WHERE "+col+" = $1", val).
		Scan(&u.ID, &u.Email, &u.Name, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, apierror.New(apierror.NotFound, "user_not_found", "no user %q", ref)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %s: %w", ref, err)
	}
	return u, nil
}

// AddMember makes a user a member of a live tenant with role, or changes the
// role of an existing member.
func (s *Service) AddMember(ctx context.Context, tenantRef, userRef, role string) (Member, error) {
	if err := validateRole(role); err != nil {
		return Member{}, err
	}
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return Member{}, err
	}
	u, err := s.User(ctx, userRef)
	if err != nil {
		return Member{}, err
	}
	m := Member{User: u}
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role
			RETURNING role, created_at`, t.ID, u.ID, role).Scan(&m.Role, &m.JoinedAt)
	})
	if err != nil {
		return Member{}, fmt.Errorf("add %s to tenant %s: %w", u.Email, t.Slug, err)
	}
	return m, nil
}

// RemoveMember removes a user from a tenant, with their tokens and sessions there.
func (s *Service) RemoveMember(ctx context.Context, tenantRef, userRef string) error {
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return err
	}
	u, err := s.User(ctx, userRef)
	if err != nil {
		return err
	}
	return database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM tenant_members WHERE tenant_id = $1 AND user_id = $2", t.ID, u.ID)
		if err != nil {
			return fmt.Errorf("remove %s from tenant %s: %w", u.Email, t.Slug, err)
		}
		if tag.RowsAffected() == 0 {
			return apierror.New(apierror.NotFound, "member_not_found", "%s is not a member of tenant %q", u.Email, t.Slug)
		}
		return nil
	})
}

// ListMembers returns a tenant's members ordered by e-mail.
func (s *Service) ListMembers(ctx context.Context, tenantRef string) ([]Member, error) {
	t, err := s.liveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	var out []Member
	err = database.InTenantTx(ctx, s.pool, t.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.id, u.email, u.name, u.created_at, m.role, m.created_at
			FROM tenant_members m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 ORDER BY u.email`, t.ID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
			var m Member
			err := r.Scan(&m.ID, &m.Email, &m.Name, &m.CreatedAt, &m.Role, &m.JoinedAt)
			return m, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", t.Slug, err)
	}
	return out, nil
}

// ResetPassword sets a user's password and ends every session the user has
// in any tenant. API tokens are left alone: they are revoked one by one.
func (s *Service) ResetPassword(ctx context.Context, userRef, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	u, err := s.User(ctx, userRef)
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", u.ID, hash); err != nil {
		return fmt.Errorf("reset password of %s: %w", u.Email, err)
	}
	rows, err := s.pool.Query(ctx, "SELECT lattice_user_tenants($1)::text", u.ID)
	if err != nil {
		return fmt.Errorf("list tenants of %s: %w", u.Email, err)
	}
	tenantIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tenants of %s: %w", u.Email, err)
	}
	for _, tid := range tenantIDs {
		err := database.InTenantTx(ctx, s.pool, tid, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2", tid, u.ID)
			return err
		})
		if err != nil {
			return fmt.Errorf("end sessions of %s in tenant %s: %w", u.Email, tid, err)
		}
	}
	return nil
}
