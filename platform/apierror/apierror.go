// Package apierror defines the errors Lattice returns to its callers: each
// has a Kind (which decides the HTTP status and the CLI exit code), a stable
// machine-readable Code, and a human message that says what was wrong and
// where. Lower layers return *Error for mistakes a caller can fix and plain
// wrapped errors for everything else, which callers report as internal.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds of API error. The zero Kind is Internal so that a forgotten kind
// never looks like the caller's fault.
const (
	Internal        Kind = iota // a bug or an unavailable dependency
	Invalid                     // the input is malformed; fix it and retry
	NotFound                    // the named thing does not exist (or is not visible)
	Conflict                    // the input clashes with current state (duplicate, stale version)
	Unauthenticated             // no, bad, expired or revoked credentials
	Forbidden                   // authenticated, but not allowed (e.g. suspended tenant)
	TooManyRequests             // rate limited; retry later
	TooLarge                    // the request body exceeds the configured limit
)

// Error is an error with a stable code, safe to show to the caller.
type Error struct {
	Kind Kind
	// Code is stable and machine-readable, e.g. "slug_taken".
	Code string
	// Message says what was wrong and where, in English.
	Message string
	// Field optionally names the input that was wrong (a flag, JSON field or path).
	Field string
	// Details optionally carries structured detail safe to show, such as
	// every violation of a record or every problem of a definition.
	Details any
	// RetryAfter, for TooManyRequests, is how long to wait before retrying.
	RetryAfter time.Duration
	// Err is an optional cause, kept for logs and errors.Is; never shown.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of the given kind with a formatted message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an Invalid error about the named input field.
func Invalidf(field, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HTTPStatus maps a Kind to the HTTP status code it is reported with.
func (k Kind) HTTPStatus() int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case TooManyRequests:
		return http.StatusTooManyRequests
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}
