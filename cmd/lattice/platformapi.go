package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/graphql/platformapi"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// mountPlatformAPI serves the platform GraphQL API at /platform/graphql to
// authenticated tenant members, each operation authorized by their
// platform permissions, and to the operator holding operatorToken (empty:
// no operator access). It fails if the SDL does not match the resolvers or
// the token is too short. Background work its mutations start (slot and
// rescore jobs) stops with ctx.
func mountPlatformAPI(ctx context.Context, mux *http.ServeMux, log *slog.Logger, pool *pgxpool.Pool, cat *catalog.Catalog,
	svc *tenants.Service, auth *authhttp.Handler, perms *permissions.Service, operatorToken string) error {
	api, err := platformapi.New(platformapi.Services{
		Tenants:     svc,
		Catalog:     cat,
		Tags:        tags.New(pool, cat, tags.Options{Logger: log}),
		Scoring:     scoring.New(pool, cat, scoring.Options{Logger: log}),
		Permissions: perms,
		Audit:       audit.New(pool, log),
	}, platformapi.Options{Logger: log, OperatorToken: operatorToken, Context: ctx})
	if err != nil {
		return err
	}
	mux.Handle("/platform/graphql", api.Handler(auth.Require))
	return nil
}
