package httpserver_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latticecrm/lattice/platform/httpserver"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestWrapRequestID(t *testing.T) {
	cases := []struct {
		name   string
		sent   *string // nil: header absent
		echoed bool    // true: the sent id must come back; false: a generated one
	}{
		{name: "absent", sent: nil},
		{name: "empty", sent: ptr("")},
		{name: "well-formed", sent: ptr("abc-123_X.y"), echoed: true},
		{name: "uuid", sent: ptr("6f1c2c4e-8f7a-4d0e-9b7e-2a4b6c8d0e1f"), echoed: true},
		{name: "64 chars is the maximum", sent: ptr(strings.Repeat("a", 64)), echoed: true},
		{name: "65 chars is too long", sent: ptr(strings.Repeat("a", 65))},
		{name: "overlong", sent: ptr(strings.Repeat("x1", 500))},
		{name: "space", sent: ptr("abc def")},
		{name: "log injection", sent: ptr(`x" level=ERROR msg="forged`)},
		{name: "newline", sent: ptr("abc\ndef")},
		{name: "markup", sent: ptr("<script>")},
		{name: "non-ascii", sent: ptr("idé")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newLogger()
			var seen string
			h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = httpserver.RequestID(r.Context())
				w.WriteHeader(http.StatusNoContent)
			}), 1<<20, logger)
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tc.sent != nil {
				req.Header["X-Request-Id"] = []string{*tc.sent}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			got := rec.Header().Get("X-Request-ID")
			if tc.echoed {
				if got != *tc.sent {
					t.Fatalf("X-Request-ID = %q, want the caller's %q echoed", got, *tc.sent)
				}
			} else {
				if !generatedID.MatchString(got) {
					t.Fatalf("X-Request-ID = %q, want a generated 16-hex-digit id", got)
				}
				if tc.sent != nil && got == *tc.sent {
					t.Fatalf("malformed id %q was echoed", *tc.sent)
				}
			}
			if seen != got {
				t.Errorf("handler saw RequestID %q, response header has %q", seen, got)
			}
			lines := logsWithMsg(t, logs, "request")
			if len(lines) != 1 || lines[0]["request_id"] != got {
				t.Errorf("access log %v: want one line with request_id %q", lines, got)
			}
			if tc.sent != nil && !tc.echoed && *tc.sent != "" && strings.Contains(logs.String(), *tc.sent) {
				t.Errorf("rejected id %q reached the log:\n%s", *tc.sent, logs.String())
			}
		})
	}
}

func TestWrapGeneratesDistinctIDs(t *testing.T) {
	logger, _ := newLogger()
	h := httpserver.Wrap(http.NotFoundHandler(), 1<<20, logger)
	seen := map[string]bool{}
	for range 50 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("request id %q generated twice", id)
		}
		seen[id] = true
	}
}

func TestRequestIDOutsideWrapIsEmpty(t *testing.T) {
	if id := httpserver.RequestID(httptest.NewRequest(http.MethodGet, "/", nil).Context()); id != "" {
		t.Fatalf("RequestID outside Wrap = %q, want empty", id)
	}
}

func TestWrapAccessLog(t *testing.T) {
	logger, logs := newLogger()
	const payload = "created thing\n"
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, payload)
	}), 1<<20, logger)
	req := httptest.NewRequest(http.MethodPost, "/v1/things?secret=query", strings.NewReader("{}"))
	req.Header.Set("X-Request-ID", "log-test-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated || rec.Body.String() != payload {
		t.Fatalf("response %d %q, want 201 %q", rec.Code, rec.Body.String(), payload)
	}

	lines := logsWithMsg(t, logs, "request")
	if len(lines) != 1 {
		t.Fatalf("want exactly one access log line, got %d:\n%s", len(lines), logs.String())
	}
	l := lines[0]
	want := map[string]any{
		"level":      "INFO",
		"request_id": "log-test-1",
		"method":     "POST",
		"path":       "/v1/things",
		"status":     float64(201),
		"bytes":      float64(len(payload)),
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("access log %s = %#v, want %#v (line %v)", k, l[k], v, l)
		}
	}
	d, ok := l["duration"].(float64)
	if !ok || d < 0 {
		t.Errorf("access log duration = %#v, want a non-negative number", l["duration"])
	}
	if strings.Contains(logs.String(), "secret=query") {
		t.Errorf("access log path includes the query string:\n%s", logs.String())
	}
}

func TestWrapAccessLogImplicitStatus(t *testing.T) {
	// A handler that writes without WriteHeader is logged as 200; one that
	// writes nothing at all too.
	for _, body := range []string{"hello", ""} {
		logger, logs := newLogger()
		h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body != "" {
				_, _ = io.WriteString(w, body)
			}
		}), 1<<20, logger)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil))
		lines := logsWithMsg(t, logs, "request")
		if len(lines) != 1 || lines[0]["status"] != float64(200) || lines[0]["bytes"] != float64(len(body)) {
			t.Errorf("body %q: access log %v, want status 200 and bytes %d", body, lines, len(body))
		}
	}
}

func TestWrapRecoversPanic(t *testing.T) {
	logger, logs := newLogger()
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom: db password hunter2")
	}), 1<<20, logger)
	req := httptest.NewRequest(http.MethodGet, "/crash", nil)
	req.Header.Set("X-Request-ID", "panic-req-7")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	assertJSONHeaders(t, rec.Header())
	e := decodeErr(t, rec.Body.Bytes())
	if e.Error.Code != "internal" || e.Error.RequestID != "panic-req-7" || e.Error.Message == "" {
		t.Errorf("error body %+v: want code internal, a message and requestId panic-req-7", e)
	}
	if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic value leaked into the response: %s", rec.Body.String())
	}

	panics := logsWithMsg(t, logs, "panic serving request")
	if len(panics) != 1 {
		t.Fatalf("want one panic log line, got %d:\n%s", len(panics), logs.String())
	}
	p := panics[0]
	if p["level"] != "ERROR" || p["request_id"] != "panic-req-7" {
		t.Errorf("panic log %v: want level ERROR and request_id panic-req-7", p)
	}
	if pv, _ := p["panic"].(string); !strings.Contains(pv, "boom") {
		t.Errorf("panic log panic = %q, want the panic value", pv)
	}
	if st, _ := p["stack"].(string); !strings.Contains(st, "middleware_test.go") {
		t.Errorf("panic log stack does not show the panicking handler:\n%s", st)
	}
	access := logsWithMsg(t, logs, "request")
	if len(access) != 1 || access[0]["status"] != float64(500) {
		t.Errorf("access log %v: want one line with status 500", access)
	}
}

func TestWrapPanicAfterHeadersKeepsResponse(t *testing.T) {
	logger, logs := newLogger()
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "partial")
		panic("late")
	}), 1<<20, logger)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted || rec.Body.String() != "partial" {
		t.Errorf("response %d %q: a panic after the header was sent must not append an error body", rec.Code, rec.Body.String())
	}
	if len(logsWithMsg(t, logs, "panic serving request")) != 1 {
		t.Errorf("panic after headers not logged:\n%s", logs.String())
	}
	access := logsWithMsg(t, logs, "request")
	if len(access) != 1 || access[0]["status"] != float64(202) {
		t.Errorf("access log %v: want status 202", access)
	}
}

func TestWrapRepanicsAbortHandler(t *testing.T) {
	logger, _ := newLogger()
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), 1<<20, logger)
	defer func() {
		p := recover()
		if err, ok := p.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked for net/http", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	t.Fatal("ServeHTTP returned normally; want http.ErrAbortHandler to propagate")
}

// bodyLimitServer serves h behind Wrap with a small body limit over a real
// connection, so Content-Length and chunked encoding are what a client sends.
func bodyLimitServer(t *testing.T, limit int64, h http.Handler) *httptest.Server {
	t.Helper()
	logger, _ := newLogger()
	srv := httptest.NewServer(httpserver.Wrap(h, limit, logger))
	t.Cleanup(srv.Close)
	return srv
}

func TestWrapRejectsDeclaredOversizeBody(t *testing.T) {
	const limit = 64
	var ran atomic.Int32
	srv := bodyLimitServer(t, limit, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))

	post := func(n int) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/upload", strings.NewReader(strings.Repeat("a", n)))
		if err != nil {
			t.Fatal(err)
		}
		if req.ContentLength != int64(n) {
			t.Fatalf("request ContentLength = %d, want %d declared", req.ContentLength, n)
		}
		req.Header.Set("X-Request-ID", "too-big-1")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	resp, body := post(limit + 1)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413; body %s", resp.StatusCode, body)
	}
	e := decodeErr(t, body)
	if e.Error.Code != "body_too_large" || e.Error.RequestID != "too-big-1" {
		t.Errorf("error body %+v: want code body_too_large and requestId too-big-1", e)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("handler ran %d times for a declared oversize body; want 0", n)
	}

	// Exactly the limit is allowed.
	resp, body = post(limit)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("body of exactly the limit: status %d, want 200; body %s", resp.StatusCode, body)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// chunkedReader hides its length so that net/http sends it chunked.
type chunkedReader struct{ r io.Reader }

func (c chunkedReader) Read(p []byte) (int, error) { return c.r.Read(p) }

type decodeTarget struct {
	Name string `json:"name"`
}

// decodeEcho decodes a decodeTarget with DecodeJSON and echoes it, or
// writes DecodeJSON's error; it records whether the body came chunked.
func decodeEcho(chunked *atomic.Bool) http.Handler {
	logger, _ := newLogger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunked.Store(r.ContentLength == -1 && len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked")
		var v decodeTarget
		if err := httpserver.DecodeJSON(r, &v); err != nil {
			httpserver.WriteError(w, r, logger, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, v)
	})
}

func postChunked(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, chunkedReader{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestDecodeJSONChunkedBodyOverLimit(t *testing.T) {
	const limit = 64
	var chunked atomic.Bool
	srv := bodyLimitServer(t, limit, decodeEcho(&chunked))

	// Within the limit, chunked: decoded normally.
	resp, body := postChunked(t, srv.URL, `{"name":"ok"}`)
	if !chunked.Load() {
		t.Fatal("test request was not sent chunked")
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("small chunked body: %d %s, want 200 echoing it", resp.StatusCode, body)
	}

	// The JSON value itself runs past the limit.
	resp, body = postChunked(t, srv.URL, `{"name":"`+strings.Repeat("x", 4*limit)+`"}`)
	if !chunked.Load() {
		t.Fatal("test request was not sent chunked")
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413; body %s", resp.StatusCode, body)
	}
	e := decodeErr(t, body)
	if e.Error.Code != "body_too_large" || !strings.Contains(e.Error.Message, "64") {
		t.Errorf("error body %+v: want code body_too_large naming the 64-byte limit", e)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != resp.Header.Get("X-Request-ID") {
		t.Errorf("requestId %q, want the response's X-Request-ID %q", e.Error.RequestID, resp.Header.Get("X-Request-ID"))
	}
}

// TestDecodeJSONChunkedBodyOverLimitAfterValue sends a small JSON value
// followed by more than the limit of further data. DecodeJSON promises to
// reject both trailing data and bodies over the limit, so this must not be
// accepted.
func TestDecodeJSONChunkedBodyOverLimitAfterValue(t *testing.T) {
	const limit = 64
	var chunked atomic.Bool
	srv := bodyLimitServer(t, limit, decodeEcho(&chunked))
	for _, tail := range []string{
		strings.Repeat(" ", 4*limit) + `{"name":"smuggled"}`,
		strings.Repeat(" ", 4*limit),
	} {
		resp, body := postChunked(t, srv.URL, `{"name":"ok"}`+tail)
		if !chunked.Load() {
			t.Fatal("test request was not sent chunked")
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("value + %d bytes (total %d, limit %d): status %d body %s; want 413 body_too_large",
				len(tail), len(tail)+13, limit, resp.StatusCode, body)
			continue
		}
		if e := decodeErr(t, body); e.Error.Code != "body_too_large" {
			t.Errorf("error body %+v: want code body_too_large", e)
		}
	}
}
