package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// HandleHealth registers GET /healthz (the process is up; no dependencies
// checked, for liveness probes) and GET /readyz (ready calls succeed within
// two seconds, for readiness probes and load balancers) on mux.
func HandleHealth(mux *http.ServeMux, logger *slog.Logger, ready func(context.Context) error) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			logger.WarnContext(ctx, "not ready", "request_id", RequestID(ctx), "err", err)
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
