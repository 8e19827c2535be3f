package authhttp

import (
	"net/http"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/tenants"
)

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	SessionID string    `json:"sessionId"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var req tenants.LoginRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	req.RemoteAddr, req.UserAgent = remoteHost(r), r.UserAgent()
	tok, sess, err := h.svc.Login(withAuditRequest(r), req)
	if err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: h.secureCookies, SameSite: http.SameSiteStrictMode,
	})
	httpserver.WriteJSON(w, http.StatusOK, loginResponse{Token: tok, ExpiresAt: sess.ExpiresAt, SessionID: sess.ID})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	if err := h.svc.Logout(r.Context(), p); err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secureCookies, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	httpserver.WriteJSON(w, http.StatusOK, p)
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	all, err := h.svc.ListTokens(r.Context(), p.TenantID)
	if err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	visible := make([]tenants.Token, 0, len(all))
	for _, t := range all {
		if canManage(p, t) {
			visible = append(visible, t)
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tokens": visible})
}

type createTokenRequest struct {
	Name string `json:"name"`
	// ExpiresIn is a Go duration such as "720h"; empty or "0" never expires.
	ExpiresIn   string `json:"expiresIn"`
	Integration string `json:"integration"`
	Role        string `json:"role"`
}

type createTokenResponse struct {
	// Token is the secret, shown this once.
	Token string        `json:"token"`
	Info  tenants.Token `json:"info"`
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var in createTokenRequest
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	var ttl time.Duration
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil {
			httpserver.WriteError(w, r, h.log, apierror.Invalidf("expiresIn", "invalid_duration",
				"expiresIn %q is not a duration such as \"720h\"", in.ExpiresIn))
			return
		}
		ttl = d
	}
	req := tenants.TokenRequest{Tenant: p.TenantID, Name: in.Name, TTL: ttl, Integration: in.Integration, Role: in.Role}
	switch {
	case in.Integration != "" && p.Role != tenants.RoleAdmin:
		httpserver.WriteError(w, r, h.log, apierror.New(apierror.Forbidden, "admin_required", "only tenant admins create integration tokens"))
		return
	case in.Integration == "" && p.UserID == "":
		httpserver.WriteError(w, r, h.log, apierror.Invalidf("integration", "integration_required",
			"an integration token creates tokens for an integration; name one"))
		return
	case in.Integration == "":
		req.User = p.UserID
	}
	tok, info, err := h.svc.CreateToken(r.Context(), req)
	if err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, createTokenResponse{Token: tok, Info: info})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	t, err := h.svc.GetToken(r.Context(), p.TenantID, id)
	if err == nil && !canManage(p, t) {
		// A token the caller may not manage is reported like a missing one.
		err = apierror.New(apierror.NotFound, "token_not_found", "no token %q in this tenant", id)
	}
	if err == nil {
		t, err = h.svc.RevokeToken(r.Context(), p.TenantID, id)
	}
	if err != nil {
		httpserver.WriteError(w, r, h.log, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, t)
}

// canManage: admins manage every token of their tenant; others only their own.
func canManage(p tenants.Principal, t tenants.Token) bool {
	return p.Role == tenants.RoleAdmin || (p.UserID != "" && t.UserID == p.UserID)
}
