package main

import (
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/graphql/dataapi"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// mountDataAPI serves the generated GraphQL data API at /graphql (GraphiQL
// for browsers, the SDL at /graphql/schema.graphql) to authenticated
// callers of the tenant their credential carries, each seeing what their
// roles allow.
func mountDataAPI(mux *http.ServeMux, log *slog.Logger, pool *pgxpool.Pool, cat *catalog.Catalog, auth *authhttp.Handler, perms *permissions.Service) {
	api := dataapi.New(pool, cat, records.New(pool, cat, log), tags.New(pool, cat, tags.Options{Logger: log}), dataapi.Options{Logger: log})
	h := dataapi.Explorer(auth.Require(api.Handler(func(r *http.Request) (dataapi.Caller, bool) {
		p, ok := authhttp.PrincipalFrom(r.Context())
		if !ok {
			return dataapi.Caller{}, false
		}
		v, err := perms.View(r.Context(), p)
		if err != nil {
			log.ErrorContext(r.Context(), "permissions view", "tenant", p.TenantID, "err", err)
			return dataapi.Caller{}, false
		}
		return callerOf(p, v), true
	})))
	mux.Handle("/graphql", h)
	mux.Handle("/graphql/", h)
}

// callerOf is the data API caller of a principal with its permissions view.
func callerOf(p tenants.Principal, v *permissions.View) dataapi.Caller {
	actor := records.Actor(p.UserID)
	if p.Integration != "" {
		actor = records.Actor("integration:" + p.Integration)
	}
	return dataapi.Caller{TenantID: p.TenantID, Actor: actor, Scope: dataapi.ScopeOf(v)}
}
