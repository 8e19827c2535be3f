package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/httpserver"
)

func TestHandleHealth(t *testing.T) {
	logger, logs := newLogger()
	var readyErr error
	var readyCalls int
	var readyDeadline time.Duration
	mux := http.NewServeMux()
	httpserver.HandleHealth(mux, logger, func(ctx context.Context) error {
		readyCalls++
		if d, ok := ctx.Deadline(); ok {
			readyDeadline = time.Until(d)
		} else {
			readyDeadline = -1
		}
		return readyErr
	})
	h := httpserver.Wrap(mux, 1<<20, logger)

	get := func(method, path string) (int, map[string]string, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		var body map[string]string
		if rec.Code != http.StatusMethodNotAllowed {
			assertJSONHeaders(t, rec.Header())
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q is not a JSON object of strings: %v", method, path, rec.Body.String(), err)
			}
		}
		return rec.Code, body, rec.Body.String()
	}

	// Liveness never consults readiness, even when the database is down.
	readyErr = errors.New("dial tcp 10.1.2.3:5432: connection refused")
	if code, body, _ := get(http.MethodGet, "/healthz"); code != http.StatusOK || body["status"] != "ok" {
		t.Errorf("/healthz = %d %v, want 200 status ok", code, body)
	}
	if readyCalls != 0 {
		t.Errorf("/healthz called ready %d times, want 0", readyCalls)
	}

	code, body, raw := get(http.MethodGet, "/readyz")
	if code != http.StatusServiceUnavailable || body["status"] != "unavailable" {
		t.Errorf("/readyz while not ready = %d %v, want 503 status unavailable", code, body)
	}
	if strings.Contains(raw, "10.1.2.3") || strings.Contains(raw, "refused") {
		t.Errorf("/readyz leaks the readiness error: %s", raw)
	}
	if !strings.Contains(logs.String(), "connection refused") || len(logsWithMsg(t, logs, "not ready")) != 1 {
		t.Errorf("readiness failure not logged with its cause:\n%s", logs.String())
	}
	if readyDeadline <= 0 || readyDeadline > 2*time.Second {
		t.Errorf("ready ctx deadline in %s, want a deadline of at most 2s", readyDeadline)
	}

	readyErr = nil
	if code, body, _ := get(http.MethodGet, "/readyz"); code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("/readyz when ready = %d %v, want 200 status ready", code, body)
	}
	if readyCalls != 2 {
		t.Errorf("ready called %d times, want once per /readyz", readyCalls)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, _ := get(http.MethodPost, path); code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d, want 405", path, code)
		}
	}
}
