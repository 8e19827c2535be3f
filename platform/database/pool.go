package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool to connURL and checks that the database answers.
func Open(ctx context.Context, connURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool for %s: %w", Redact(connURL), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(connURL), err)
	}
	return pool, nil
}

// AppURL returns ownerURL with its user replaced by role and its password
// removed: the connection string the server uses when none is configured.
// It suits local PostgreSQL with trust or peer authentication; elsewhere
// configure the app URL (with the role's password) explicitly.
func AppURL(ownerURL, role string) (string, error) {
	u, err := url.Parse(ownerURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database URL %q is not a postgres:// URL", Redact(ownerURL))
	}
	u.User = url.User(role)
	return u.String(), nil
}

// WithDatabase returns connURL pointing at database name instead.
func WithDatabase(connURL, name string) (string, error) {
	u, err := url.Parse(connURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database URL %q is not a postgres:// URL", Redact(connURL))
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Redact returns connURL without its password, for logs and error messages.
func Redact(connURL string) string {
	u, err := url.Parse(connURL)
	if err != nil {
		return "(unparseable database URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// EnsureDatabase creates the database named in ownerURL if it does not
// exist, connecting to the cluster's "postgres" database to do so. It
// reports whether it created one.
func EnsureDatabase(ctx context.Context, ownerURL string) (bool, error) {
	cfg, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return false, fmt.Errorf("parse database URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return false, fmt.Errorf("database URL %s names no database", Redact(ownerURL))
	}
	adminURL, err := WithDatabase(ownerURL, "postgres")
	if err != nil {
		return false, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to %s: %w", Redact(adminURL), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return false, nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if IsCode(err, "42P04") { // duplicate_database: a concurrent creator won
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database %s: %w", name, err)
	}
	return true, nil
}

// IsCode reports whether err is a PostgreSQL error with the given SQLSTATE.
func IsCode(err error, sqlstate string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlstate
}

// ConstraintViolated returns the name of the constraint err violates, or "".
func ConstraintViolated(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// SQLSTATE codes Lattice reacts to.
const (
	UniqueViolation     = "23505"
	ForeignKeyViolation = "23503"
	CheckViolation      = "23514"
)
