// Package authhttp is the HTTP face of package tenants: the middleware that
// authenticates requests, and the /v1/auth, /v1/me and /v1/tokens endpoints.
//
// A request authenticates with "Authorization: Bearer <token>", where the
// token is an API token (lat_...) or a session token (lss_...) from
// POST /v1/auth/login. Browsers may instead send the session in the
// lattice_session cookie (HttpOnly, SameSite=Strict), which login sets.
package authhttp

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/tenants"
)

// SessionCookie is the name of the cookie that carries a browser's session.
const SessionCookie = "lattice_session"

type principalKey struct{}

// PrincipalFrom returns the principal that Require put in ctx.
func PrincipalFrom(ctx context.Context) (tenants.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(tenants.Principal)
	return p, ok
}

// Handler serves the authentication endpoints and guards others.
type Handler struct {
	svc *tenants.Service
	log *slog.Logger
	// secureCookies marks the session cookie Secure (HTTPS only).
	secureCookies bool
}

// New returns a Handler. Set secureCookies when the server is reached over HTTPS.
func New(svc *tenants.Service, logger *slog.Logger, secureCookies bool) *Handler {
	return &Handler{svc: svc, log: logger, secureCookies: secureCookies}
}

// Require authenticates every request before next sees it: no credential
// gets 401 authentication_required, a bad one its specific error. next's
// context carries the principal (PrincipalFrom) and, for the audit log,
// the request id, the client address and the principal as actor
// (audit.RequestFrom), so that whatever next records names them.
func (h *Handler) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := credential(r)
		if cred == "" {
			httpserver.WriteError(w, r, h.log, apierror.New(apierror.Unauthenticated, "authentication_required",
				"send an API or session token as 'Authorization: Bearer <token>'"))
			return
		}
		ctx := withAuditRequest(r)
		p, err := h.svc.Authenticate(ctx, cred)
		if err != nil {
			httpserver.WriteError(w, r, h.log, err)
			return
		}
		ctx = audit.WithRequest(ctx, audit.Request{Actor: p.AuditActor()})
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey{}, p)))
	})
}

// Register adds the endpoints to mux:
//
//	POST   /v1/auth/login    {"tenant","email","password"} -> session token
//	POST   /v1/auth/logout   ends the current session
//	GET    /v1/me            the authenticated principal
//	GET    /v1/tokens        tokens (an admin sees all, a member their own)
//	POST   /v1/tokens        {"name","expiresIn","integration","role"} -> token, shown once
//	DELETE /v1/tokens/{id}   revoke
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/auth/login", h.login)
	mux.Handle("POST /v1/auth/logout", h.Require(http.HandlerFunc(h.logout)))
	mux.Handle("GET /v1/me", h.Require(http.HandlerFunc(h.me)))
	mux.Handle("GET /v1/tokens", h.Require(http.HandlerFunc(h.listTokens)))
	mux.Handle("POST /v1/tokens", h.Require(http.HandlerFunc(h.createToken)))
	mux.Handle("DELETE /v1/tokens/{id}", h.Require(http.HandlerFunc(h.revokeToken)))
}

func credential(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return "invalid" // present but not a bearer token: fail as invalid, not as missing
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// withAuditRequest returns r's context carrying its request id and client
// address for the audit log.
func withAuditRequest(r *http.Request) context.Context {
	return audit.WithRequest(r.Context(), audit.Request{ID: httpserver.RequestID(r.Context()), Address: remoteHost(r)})
}

// remoteHost is the client address used for rate limiting and recorded in
// the audit log. Lattice does not
// trust X-Forwarded-For: behind a proxy, all clients share its address.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
