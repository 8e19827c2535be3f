package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/latticecrm/lattice/platform/apierror"
)

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Field     string `json:"field,omitempty"`
		RequestID string `json:"requestId,omitempty"`
		Details   any    `json:"details,omitempty"`
	} `json:"error"`
}

// WriteError writes err as a JSON error response. An *apierror.Error is
// shown as is; anything else is logged and reported as a 500 without detail.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var body errorBody
	body.Error.RequestID = RequestID(r.Context())
	status := http.StatusInternalServerError
	if e, ok := apierror.As(err); ok && e.Kind.HTTPStatus() != http.StatusInternalServerError {
		status = e.Kind.HTTPStatus()
		body.Error.Code, body.Error.Message, body.Error.Field, body.Error.Details = e.Code, e.Message, e.Field, e.Details
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
	} else {
		logger.ErrorContext(r.Context(), "internal error", "request_id", body.Error.RequestID, "path", r.URL.Path, "err", err)
		body.Error.Code, body.Error.Message = "internal", "internal server error; the request id identifies it in the server log"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lattice"`)
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a JSON object body into v, rejecting unknown fields,
// trailing data, non-JSON content types and bodies over the server's limit,
// each with its own error code.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apierror.New(apierror.Invalid, "unsupported_media_type", "request body must be application/json, got %q", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return apierror.New(apierror.TooLarge, "body_too_large", "request body exceeds %d bytes", tooBig.Limit)
		case errors.As(err, &syntax):
			return apierror.New(apierror.Invalid, "invalid_json", "request body is not valid JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typeErr):
			return &apierror.Error{Kind: apierror.Invalid, Code: "invalid_json", Field: typeErr.Field,
				Message: fmt.Sprintf("field %q must be %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)}
		default:
			return apierror.New(apierror.Invalid, "invalid_json", "request body: %v", err)
		}
	}
	// More() cannot tell "}" or a read error from the end, so read one
	// more token: only a clean end of input is acceptable.
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierror.New(apierror.TooLarge, "body_too_large", "request body exceeds %d bytes", tooBig.Limit)
		}
		return apierror.New(apierror.Invalid, "invalid_json", "request body has data after the JSON value")
	}
	return nil
}
