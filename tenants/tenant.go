package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
)

// Tenant status values.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Tenant is one company using Lattice.
type Tenant struct {
	ID              string     `json:"id"`
	Slug            string     `json:"slug"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	SuspendedReason string     `json:"suspendedReason,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`
	DeletedAt       *time.Time `json:"deletedAt,omitempty"`
}

const tenantColumns = "id, slug, name, status, suspended_reason, created_at, updated_at, deleted_at"

func scanTenant(row pgx.Row) (Tenant, error) {
	var t Tenant
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.SuspendedReason, &t.CreatedAt, &t.UpdatedAt, &t.DeletedAt)
	return t, err
}

func validateTenantName(name string) error {
	if strings.TrimSpace(name) == "" {
		return apierror.Invalidf("name", "invalid_name", "tenant name must not be empty")
	}
	if len(name) > 200 {
		return apierror.Invalidf("name", "invalid_name", "tenant name must be at most 200 bytes, got %d", len(name))
	}
	return nil
}

// CreateTenant registers a new active tenant.
func (s *Service) CreateTenant(ctx context.Context, slug, name string) (Tenant, error) {
	if err := ValidateSlug(slug); err != nil {
		return Tenant{}, err
	}
	if err := validateTenantName(name); err != nil {
		return Tenant{}, err
	}
	t, err := scanTenant(s.pool.QueryRow(ctx,
		"INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING "+tenantColumns, slug, name))
	if database.ConstraintViolated(err) == "tenants_slug_key" {
		return Tenant{}, &apierror.Error{Kind: apierror.Conflict, Code: "slug_taken", Field: "slug", Message: fmt.Sprintf("slug %q is already used by another tenant", slug)}
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	return t, nil
}

// Tenant returns the tenant whose slug or id is ref, including a
// soft-deleted one (check DeletedAt).
func (s *Service) Tenant(ctx context.Context, ref string) (Tenant, error) {
	if ref == "" {
		return Tenant{}, apierror.Invalidf("tenant", "tenant_required", "a tenant slug or id is required")
	}
	col := "slug"
	if isUUID(ref) {
		col = "id"
	}
	t, err := scanTenant(s.pool.QueryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE "+col+" = $1", ref))
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, errTenantNotFound(ref)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("load tenant %s: %w", ref, err)
	}
	return t, nil
}

// liveTenant is Tenant, but a soft-deleted tenant is not found.
func (s *Service) liveTenant(ctx context.Context, ref string) (Tenant, error) {
	t, err := s.Tenant(ctx, ref)
	if err == nil && t.DeletedAt != nil {
		return Tenant{}, errTenantNotFound(ref)
	}
	return t, err
}

// ListTenants returns tenants ordered by slug; soft-deleted ones only if
// includeDeleted.
func (s *Service) ListTenants(ctx context.Context, includeDeleted bool) ([]Tenant, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE $1 OR deleted_at IS NULL ORDER BY slug", includeDeleted)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// RenameTenant changes a live tenant's display name and, if newSlug is not
// empty, its slug. Credentials carry the tenant id, not the slug, so they
// keep working after a slug change.
func (s *Service) RenameTenant(ctx context.Context, ref, newName, newSlug string) (Tenant, error) {
	t, err := s.liveTenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	if newName == "" {
		newName = t.Name
	}
	if err := validateTenantName(newName); err != nil {
		return Tenant{}, err
	}
	if newSlug == "" {
		newSlug = t.Slug
	} else if err := ValidateSlug(newSlug); err != nil {
		return Tenant{}, err
	}
	return s.updateTenant(ctx, t, "name = $2, slug = $3", newName, newSlug)
}

// SuspendTenant blocks every request of a live tenant with 403 until
// ResumeTenant; reason is shown to its users.
func (s *Service) SuspendTenant(ctx context.Context, ref, reason string) (Tenant, error) {
	t, err := s.liveTenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	if len(reason) > 500 {
		return Tenant{}, apierror.Invalidf("reason", "invalid_reason", "suspension reason must be at most 500 bytes")
	}
	return s.updateTenant(ctx, t, "status = 'suspended', suspended_reason = $2", reason)
}

// ResumeTenant makes a suspended tenant active again.
func (s *Service) ResumeTenant(ctx context.Context, ref string) (Tenant, error) {
	t, err := s.liveTenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	return s.updateTenant(ctx, t, "status = 'active', suspended_reason = ''")
}

// DeleteTenant soft-deletes a tenant: its credentials stop working at once
// and its data stays until PurgeTenant. RestoreTenant undoes it.
func (s *Service) DeleteTenant(ctx context.Context, ref string) (Tenant, error) {
	t, err := s.liveTenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	return s.updateTenant(ctx, t, "deleted_at = now()")
}

// RestoreTenant undoes DeleteTenant.
func (s *Service) RestoreTenant(ctx context.Context, ref string) (Tenant, error) {
	t, err := s.Tenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	if t.DeletedAt == nil {
		return Tenant{}, apierror.New(apierror.Conflict, "tenant_not_deleted", "tenant %q is not deleted", t.Slug)
	}
	return s.updateTenant(ctx, t, "deleted_at = NULL")
}

// PurgeTenant permanently removes a soft-deleted tenant and everything it
// owns. It refuses a tenant that is not soft-deleted.
func (s *Service) PurgeTenant(ctx context.Context, ref string) error {
	t, err := s.Tenant(ctx, ref)
	if err != nil {
		return err
	}
	if t.DeletedAt == nil {
		return apierror.New(apierror.Conflict, "tenant_not_deleted", "tenant %q must be deleted before it can be purged", t.Slug)
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM tenants WHERE id = $1 AND deleted_at IS NOT NULL", t.ID); err != nil {
		return fmt.Errorf("purge tenant %s: %w", t.Slug, err)
	}
	return nil
}

// PurgeDeletedTenants purges every tenant soft-deleted before cutoff and
// returns their slugs.
func (s *Service) PurgeDeletedTenants(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, "DELETE FROM tenants WHERE deleted_at < $1 RETURNING slug", cutoff)
	if err != nil {
		return nil, fmt.Errorf("purge deleted tenants: %w", err)
	}
	slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("purge deleted tenants: %w", err)
	}
	return slugs, nil
}

// updateTenant applies set (whose parameters start at $2) to t and returns
// the new row, mapping a slug collision to slug_taken.
func (s *Service) updateTenant(ctx context.Context, t Tenant, set string, args ...any) (Tenant, error) {
	sql := "UPDATE tenants SET " + set + ", updated_at = now() WHERE id = $1 RETURNING " + tenantColumns
	out, err := scanTenant(s.pool.QueryRow(ctx, sql, append([]any{t.ID}, args...)...))
	if database.ConstraintViolated(err) == "tenants_slug_key" {
		return Tenant{}, &apierror.Error{Kind: apierror.Conflict, Code: "slug_taken", Field: "slug", Message: "slug is already used by another tenant"}
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", t.Slug, err)
	}
	return out, nil
}

func errTenantNotFound(ref string) error {
	return apierror.New(apierror.NotFound, "tenant_not_found", "no tenant %q", ref)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
