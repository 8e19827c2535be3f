package platformapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/schema/model"
)

// Error codes in extensions.code.
const (
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeNotFound        = "NOT_FOUND"
	CodeConflict        = "CONFLICT"
	CodeForbidden       = "FORBIDDEN"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeTooManyRequests = "TOO_MANY_REQUESTS"
	CodeTooLarge        = "PAYLOAD_TOO_LARGE"
	CodeInternal        = "INTERNAL_SERVER_ERROR"
)

// Problem is one thing wrong with a mutation's input: Pointer is a JSON
// pointer into the field's arguments taken as one JSON object
// ("/definition/properties/email/x-lattice-field/kind", "/input/name").
// When Object is set, the pointer is instead inside that existing object's
// definition (as exportBundle shows it): the change made it invalid.
type Problem struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Object  string `json:"object,omitempty"`
}

// Error is a resolver error: graph-gophers copies Extensions into the
// response's extensions.
type Error struct {
	Message string
	ext     map[string]any
}

func (e *Error) Error() string { return e.Message }

// Extensions implements graph-gophers' ResolverError.
func (e *Error) Extensions() map[string]any { return e.ext }

func newError(code, reason, msg string) *Error {
	ext := map[string]any{"code": code}
	if reason != "" {
		ext["reason"] = reason
	}
	return &Error{Message: msg, ext: ext}
}

// forbidden is the error of a caller without a permission: extensions
// name it ("platform:schema manage").
func forbidden(permission string) *Error {
	e := newError(CodeForbidden, "permission_required", "forbidden: this needs the permission "+permission)
	e.ext["permission"] = permission
	return e
}

// badInput is an input error with one problem at pointer.
func badInput(pointer, code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return problemsError(CodeBadUserInput, code, msg, []Problem{{Pointer: pointer, Code: code, Message: msg}})
}

func problemsError(code, reason, msg string, ps []Problem) *Error {
	e := newError(code, reason, msg)
	e.ext["problems"] = ps
	return e
}

// where says where a service's errors point in a field's arguments.
type where struct {
	// base prefixes every pointer: "/input", "/definition", "" for the
	// field's top-level arguments.
	base string
	// rename maps a service's field names to argument names.
	rename map[string]string
	// mapPointer, if set, rewrites a schema definition problem's pointer
	// (see objectMapper).
	mapPointer func(Problem) Problem
}

func at(base string) where { return where{base: base} }

// fail converts any error of a service into the API's error. Errors the
// caller can fix keep their code (extensions.reason), field and details;
// anything else is logged with the request id and reported without detail.
func (r *Resolver) fail(ctx context.Context, err error, w where) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	if ps, ok := err.(model.Problems); ok {
		err = ps.APIError()
	}
	ae, ok := apierror.As(err)
	if !ok || ae.Kind == apierror.Internal {
		id := httpserver.RequestID(ctx)
		r.api.log.ErrorContext(ctx, "platform API internal error", "request_id", id, "err", err)
		e := newError(CodeInternal, "", "internal server error; the request id identifies it in the server log")
		e.ext["requestId"] = id
		return e
	}
	code := map[apierror.Kind]string{
		apierror.Invalid: CodeBadUserInput, apierror.NotFound: CodeNotFound, apierror.Conflict: CodeConflict,
		apierror.Forbidden: CodeForbidden, apierror.Unauthenticated: CodeUnauthenticated,
		apierror.TooManyRequests: CodeTooManyRequests, apierror.TooLarge: CodeTooLarge,
	}[ae.Kind]
	e := newError(code, ae.Code, ae.Message)
	// fieldPtr is where the error's field is in the arguments.
	fieldPtr := w.base
	if f := strings.TrimPrefix(ae.Field, "/"); f != "" {
		if n, ok := w.rename[f]; ok {
			fieldPtr = n
		} else {
			fieldPtr = w.base + "/" + f
		}
		e.ext["field"] = fieldPtr
	}
	var ps []Problem
	switch d := ae.Details.(type) {
	case model.Problems:
		for _, p := range d {
			q := Problem{Pointer: fieldPtr + p.Pointer, Code: p.Code, Message: p.Message}
			if w.mapPointer != nil {
				q = w.mapPointer(Problem{Pointer: p.Pointer, Code: p.Code, Message: p.Message})
			}
			ps = append(ps, q)
		}
	case model.Violations:
		for _, v := range d {
			ps = append(ps, Problem{Pointer: fieldPtr + v.Path, Code: v.Rule, Message: v.Message})
		}
	case nil:
		if ae.Kind == apierror.Invalid {
			ps = []Problem{{Pointer: fieldPtr, Code: ae.Code, Message: ae.Message}}
		}
	default:
		e.ext["details"] = d
	}
	if ps != nil {
		e.ext["problems"] = ps
		if _, isProblems := ae.Details.(model.Problems); isProblems {
			// The service's message names its own pointers: name ours.
			headline, _, _ := strings.Cut(ae.Message, ": ")
			parts := make([]string, len(ps))
			for i, p := range ps {
				where := p.Pointer
				if p.Object != "" {
					where = p.Object + " " + where
				}
				parts[i] = fmt.Sprintf("%s: %s (%s)", where, p.Message, p.Code)
			}
			e.Message = headline + ": " + strings.Join(parts, "; ")
		}
	}
	return e
}

// isCode reports whether err is an API error with the given code.
func isCode(err error, code string) bool {
	ae, ok := apierror.As(err)
	return ok && ae.Code == code
}
