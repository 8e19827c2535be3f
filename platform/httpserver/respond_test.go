package httpserver_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/httpserver"
)

// writeErrorVia runs WriteError(err) inside Wrap, so the request has an id.
func writeErrorVia(t *testing.T, err error) (*httptest.ResponseRecorder, *lockedBuffer) {
	t.Helper()
	logger, logs := newLogger()
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpserver.WriteError(w, r, logger, err)
	}), 1<<20, logger)
	req := httptest.NewRequest(http.MethodGet, "/v1/thing", nil)
	req.Header.Set("X-Request-ID", "req-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, logs
}

func TestWriteErrorKinds(t *testing.T) {
	cases := []struct {
		kind   apierror.Kind
		status int
	}{
		{apierror.Invalid, http.StatusBadRequest},
		{apierror.NotFound, http.StatusNotFound},
		{apierror.Conflict, http.StatusConflict},
		{apierror.Unauthenticated, http.StatusUnauthorized},
		{apierror.Forbidden, http.StatusForbidden},
		{apierror.TooManyRequests, http.StatusTooManyRequests},
		{apierror.TooLarge, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			in := &apierror.Error{Kind: tc.kind, Code: "some_code", Message: "what went wrong", Field: "slug",
				Err: errors.New("hidden cause xyzzy")}
			rec, _ := writeErrorVia(t, in)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d", rec.Code, tc.status)
			}
			assertJSONHeaders(t, rec.Header())
			e := decodeErr(t, rec.Body.Bytes())
			if e.Error.Code != "some_code" || e.Error.Message != "what went wrong" || e.Error.Field != "slug" || e.Error.RequestID != "req-42" {
				t.Errorf("body %+v: want code some_code, message, field slug, requestId req-42", e)
			}
			if strings.Contains(rec.Body.String(), "xyzzy") {
				t.Errorf("the error's cause leaked into the body: %s", rec.Body.String())
			}
			wa := rec.Header().Get("WWW-Authenticate")
			if tc.status == http.StatusUnauthorized {
				if !strings.HasPrefix(wa, "Bearer ") || !strings.Contains(wa, `realm="lattice"`) {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge with realm lattice", wa)
				}
			} else if wa != "" {
				t.Errorf("WWW-Authenticate = %q on a %d, want none", wa, tc.status)
			}
			if ra := rec.Header().Get("Retry-After"); ra != "" {
				t.Errorf("Retry-After = %q without RetryAfter set, want none", ra)
			}
		})
	}
}

func TestWriteErrorOmitsEmptyField(t *testing.T) {
	rec, _ := writeErrorVia(t, apierror.New(apierror.NotFound, "tenant_not_found", "no tenant %q", "acme"))
	var raw map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["error"]["field"]; ok {
		t.Errorf("body %s has a field key for an error without a field", rec.Body.String())
	}
	if raw["error"]["message"] != `no tenant "acme"` {
		t.Errorf("message = %v", raw["error"]["message"])
	}
}

func TestWriteErrorWrappedAPIError(t *testing.T) {
	inner := apierror.New(apierror.Conflict, "slug_taken", "slug is taken")
	rec, _ := writeErrorVia(t, fmt.Errorf("create tenant: %w", inner))
	if rec.Code != http.StatusConflict {
		t.Fatalf("status = %d, want 409 for a wrapped *apierror.Error", rec.Code)
	}
	if e := decodeErr(t, rec.Body.Bytes()); e.Error.Code != "slug_taken" || e.Error.Message != "slug is taken" {
		t.Errorf("body %+v", e)
	}
	if strings.Contains(rec.Body.String(), "create tenant") {
		t.Errorf("the wrapping context leaked: %s", rec.Body.String())
	}
}

func TestWriteErrorInternalHidesCause(t *testing.T) {
	cases := map[string]error{
		"plain":            errors.New("connect to postgres://app:hunter2@db.internal failed"),
		"wrapped":          fmt.Errorf("load tenant: %w", errors.New("pq: hunter2 relation missing")),
		"internal apierr":  &apierror.Error{Kind: apierror.Internal, Code: "db_down", Message: "hunter2 in message"},
		"zero-kind apierr": apierror.New(apierror.Kind(0), "oops", "hunter2 oops"),
	}
	for name, err := range cases {
		t.Run(name, func(t *testing.T) {
			rec, logs := writeErrorVia(t, err)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", rec.Code)
			}
			assertJSONHeaders(t, rec.Header())
			body := rec.Body.String()
			e := decodeErr(t, rec.Body.Bytes())
			if e.Error.Code != "internal" || e.Error.RequestID != "req-42" || e.Error.Message == "" || e.Error.Field != "" {
				t.Errorf("body %+v: want code internal, a generic message, requestId req-42, no field", e)
			}
			for _, secret := range []string{"hunter2", "postgres", "load tenant", "db_down", "oops"} {
				if strings.Contains(body, secret) {
					t.Errorf("body leaks %q: %s", secret, body)
				}
			}
			lines := logsWithMsg(t, logs, "internal error")
			if len(lines) != 1 {
				t.Fatalf("want one internal error log line, got:\n%s", logs.String())
			}
			if errStr, _ := lines[0]["err"].(string); !strings.Contains(errStr, "hunter2") {
				t.Errorf("logged err %q, want the cause", errStr)
			}
			if lines[0]["request_id"] != "req-42" || lines[0]["level"] != "ERROR" || lines[0]["path"] != "/v1/thing" {
				t.Errorf("internal error log %v: want level ERROR, request_id req-42, path /v1/thing", lines[0])
			}
		})
	}
}

func TestWriteErrorRetryAfter(t *testing.T) {
	cases := []struct {
		after time.Duration
		want  string
	}{
		{30 * time.Second, "30"},
		{1500 * time.Millisecond, "2"},
		{200 * time.Millisecond, "1"},
		{time.Hour, "3600"},
	}
	for _, tc := range cases {
		rec, _ := writeErrorVia(t, &apierror.Error{Kind: apierror.TooManyRequests, Code: "too_many_attempts",
			Message: "slow down", RetryAfter: tc.after})
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("RetryAfter %s: status %d, want 429", tc.after, rec.Code)
		}
		if got := rec.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("RetryAfter %s: Retry-After = %q, want %q", tc.after, got, tc.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	httpserver.WriteJSON(rec, http.StatusAccepted, map[string]any{"a": 1, "b": "<x>"})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d", rec.Code)
	}
	assertJSONHeaders(t, rec.Header())
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["a"] != float64(1) || got["b"] != "<x>" {
		t.Errorf("body = %v", got)
	}
}

type decodeInto struct {
	Name  string `json:"name"`
	Age   int    `json:"age"`
	Inner struct {
		N int `json:"n"`
	} `json:"inner"`
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name        string
		contentType string // "-" for none
		body        string
		wantCode    string // "" for success
		wantKind    apierror.Kind
		wantField   string
		wantInMsg   []string
	}{
		{name: "ok", contentType: "application/json", body: `{"name":"a","age":3}`},
		{name: "ok with charset", contentType: "application/json; charset=utf-8", body: `{"name":"a"}`},
		{name: "ok without content type", contentType: "-", body: `{"name":"a"}`},
		{name: "ok with trailing whitespace", contentType: "application/json", body: "{\"name\":\"a\"}\n \t\r\n"},
		{name: "text/plain", contentType: "text/plain", body: `{"name":"a"}`,
			wantCode: "unsupported_media_type", wantKind: apierror.Invalid, wantInMsg: []string{"text/plain"}},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `name=a`,
			wantCode: "unsupported_media_type", wantKind: apierror.Invalid},
		{name: "json-ish suffix", contentType: "application/jsonp", body: `{"name":"a"}`,
			wantCode: "unsupported_media_type", wantKind: apierror.Invalid},
		{name: "malformed content type", contentType: "application/json; =", body: `{"name":"a"}`,
			wantCode: "unsupported_media_type", wantKind: apierror.Invalid},
		{name: "syntax error", contentType: "application/json", body: `{"name": }`,
			wantCode: "invalid_json", wantKind: apierror.Invalid, wantInMsg: []string{"not valid JSON", "byte"}},
		{name: "truncated", contentType: "application/json", body: `{"name": "a"`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		{name: "empty body", contentType: "application/json", body: ``,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		{name: "unknown field", contentType: "application/json", body: `{"name":"a","nickname":"b"}`,
			wantCode: "invalid_json", wantKind: apierror.Invalid, wantInMsg: []string{"nickname"}},
		{name: "wrong type", contentType: "application/json", body: `{"age":"three"}`,
			wantCode: "invalid_json", wantKind: apierror.Invalid, wantField: "age", wantInMsg: []string{`"age"`, "int", "string"}},
		{name: "wrong nested type", contentType: "application/json", body: `{"inner":{"n":true}}`,
			wantCode: "invalid_json", wantKind: apierror.Invalid, wantField: "inner.n", wantInMsg: []string{"inner.n"}},
		{name: "not an object", contentType: "application/json", body: `["a"]`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		{name: "second value", contentType: "application/json", body: `{"name":"a"} {"name":"b"}`,
			wantCode: "invalid_json", wantKind: apierror.Invalid, wantInMsg: []string{"after the JSON value"}},
		{name: "trailing garbage", contentType: "application/json", body: `{"name":"a"}x`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		{name: "trailing number", contentType: "application/json", body: `{"name":"a"} 1`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		// A stray closing brace or bracket after the value is trailing data
		// too; json.Decoder.More reports false for it.
		{name: "trailing brace", contentType: "application/json", body: `{"name":"a"}}`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
		{name: "trailing bracket", contentType: "application/json", body: `{"name":"a"}]`,
			wantCode: "invalid_json", wantKind: apierror.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.contentType != "-" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			var v decodeInto
			err := httpserver.DecodeJSON(req, &v)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if v.Name != "a" {
					t.Errorf("decoded %+v, want name a", v)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeJSON(%q) = nil, want %s", tc.body, tc.wantCode)
			}
			e, ok := apierror.As(err)
			if !ok {
				t.Fatalf("DecodeJSON error %v (%T) is not an *apierror.Error", err, err)
			}
			if e.Code != tc.wantCode || e.Kind != tc.wantKind || e.Field != tc.wantField {
				t.Errorf("error {kind %d code %q field %q}, want {kind %d code %q field %q}: %v",
					e.Kind, e.Code, e.Field, tc.wantKind, tc.wantCode, tc.wantField, e)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q does not mention %q", e.Message, s)
				}
			}
		})
	}
}

// TestDecodeJSONErrorsOverHTTP checks the statuses DecodeJSON's errors get
// once written, as handlers do.
func TestDecodeJSONErrorsOverHTTP(t *testing.T) {
	logger, _ := newLogger()
	h := httpserver.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v decodeInto
		if err := httpserver.DecodeJSON(r, &v); err != nil {
			httpserver.WriteError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), 1<<20, logger)
	cases := []struct {
		ct, body, code string
		status         int
		field          string
	}{
		{"text/plain", `{}`, "unsupported_media_type", 400, ""},
		{"application/json", `{`, "invalid_json", 400, ""},
		{"application/json", `{"zzz":1}`, "invalid_json", 400, ""},
		{"application/json", `{"age":"x"}`, "invalid_json", 400, "age"},
		{"application/json", `{} {}`, "invalid_json", 400, ""},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		if rec.Code != tc.status {
			t.Errorf("%s %q: status %d, want %d (%s)", tc.ct, tc.body, rec.Code, tc.status, b)
			continue
		}
		if e := decodeErr(t, b); e.Error.Code != tc.code || e.Error.Field != tc.field {
			t.Errorf("%s %q: body %+v, want code %s field %q", tc.ct, tc.body, e, tc.code, tc.field)
		}
	}
}
