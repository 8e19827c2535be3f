package dataapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
)

// Error codes in extensions.code.
const (
	CodeBadUserInput       = "BAD_USER_INPUT"
	CodeNotFound           = "NOT_FOUND"
	CodeConflict           = "CONFLICT"
	CodeForbidden          = "FORBIDDEN"
	CodeLimitExceeded      = "LIMIT_EXCEEDED"
	CodeValidationFailed   = "GRAPHQL_VALIDATION_FAILED"
	CodeParseFailed        = "GRAPHQL_PARSE_FAILED"
	CodeTimeout            = "TIMEOUT"
	CodeInternalError      = "INTERNAL_SERVER_ERROR"
	CodePersistedNotFound  = "PERSISTED_QUERY_NOT_FOUND"
	CodePersistedHashError = "PERSISTED_QUERY_HASH_MISMATCH"
)

// inputError is a user error in the arguments of a field: the argument
// path says where ("where", "account", "name", "eq").
type inputError struct {
	code    string
	message string
	args    []any // the path inside the field's arguments
	at      []any // the response path of the field below the root field, if nested
	details any
}

// atPath places an argument error at the nested field whose arguments it
// is about (response path path below the root field), unless it is placed.
func atPath(err error, path []any) error {
	var ie *inputError
	if errors.As(err, &ie) && ie.at == nil && len(path) > 0 {
		ie.at = path
	}
	return err
}

func (e *inputError) Error() string { return e.message }

func badInput(args []any, format string, a ...any) *inputError {
	return &inputError{code: CodeBadUserInput, message: fmt.Sprintf(format, a...), args: args}
}

func limitError(args []any, format string, a ...any) *inputError {
	return &inputError{code: CodeLimitExceeded, message: fmt.Sprintf(format, a...), args: args}
}

// fieldAt places an error about a nested field itself, not about
// arguments, at its response path below the root field.
func fieldAt(e *inputError, path []any) *inputError {
	e.args, e.at = nil, append([]any{}, path...)
	return e
}

// appendPath copies path and appends more, so sibling paths never share a
// backing array.
func appendPath(path []any, more ...any) []any {
	out := make([]any, 0, len(path)+len(more))
	return append(append(out, path...), more...)
}

// argumentError is an error of the record store about the values of one
// argument of a mutation (input, inputs, set): the violations' pointers
// ("/1/email") are inside it, so extensions.argumentPath can name the
// value (["inputs", 1, "email"]).
type argumentError struct {
	arg string
	err error
}

func (e *argumentError) Error() string { return e.err.Error() }
func (e *argumentError) Unwrap() error { return e.err }

// inArgument marks err (nil stays nil) as about the values of argument
// arg.
func inArgument(err error, arg string) error {
	if err == nil {
		return nil
	}
	return &argumentError{arg: arg, err: err}
}

// path is the argument path of the first violation err carries, or nil.
func (e *argumentError) path() []any {
	var vs model.Violations
	if ae, ok := apierror.As(e.err); ok {
		vs, _ = ae.Details.(model.Violations)
	} else {
		errors.As(e.err, &vs)
	}
	if len(vs) == 0 {
		return nil
	}
	out := []any{e.arg}
	for _, tok := range strings.Split(strings.TrimPrefix(vs[0].Path, "/"), "/") {
		if tok == "" {
			continue
		}
		if i, err := strconv.Atoi(tok); err == nil {
			out = append(out, i)
		} else {
			out = append(out, strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~"))
		}
	}
	return out
}

// fieldError converts an error from planning or executing a root field into
// a GraphQL error at that field.
func fieldError(f *ast.Field, err error) *gqlerror.Error {
	g := &gqlerror.Error{Message: err.Error(), Path: ast.Path{ast.PathName(f.Alias)}, Extensions: map[string]any{}}
	if f.Position != nil {
		g.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	var ie *inputError
	var ae *apierror.Error
	var ps model.Problems
	var vs model.Violations
	switch {
	case errors.As(err, &ie):
		g.Message = ie.message
		g.Extensions["code"] = ie.code
		for _, p := range ie.at {
			switch x := p.(type) {
			case string:
				g.Path = append(g.Path, ast.PathName(x))
			case int:
				g.Path = append(g.Path, ast.PathIndex(x))
			}
		}
		if len(ie.args) > 0 {
			g.Extensions["argumentPath"] = ie.args
		}
		if ie.details != nil {
			g.Extensions["details"] = ie.details
		}
	case errors.As(err, &ae) && ae.Kind != apierror.Invalid:
		// Before the violations a conflict may wrap: a unique clash is
		// CONFLICT, not an invalid record.
		g.Message = ae.Message
		g.Extensions["code"] = codeOf(ae.Kind)
		if ae.Field != "" {
			g.Extensions["field"] = ae.Field
		}
		if ae.Details != nil {
			g.Extensions["details"] = ae.Details
		}
	case errors.As(err, &vs):
		g.Message = "invalid record: " + vs.Error()
		g.Extensions["code"] = CodeBadUserInput
		g.Extensions["details"] = vs
	case errors.As(err, &ps):
		g.Extensions["code"] = CodeBadUserInput
		g.Extensions["details"] = ps
	case errors.As(err, &ae):
		g.Message = ae.Message
		g.Extensions["code"] = codeOf(ae.Kind)
		if ae.Field != "" {
			g.Extensions["field"] = ae.Field
		}
		if ae.Details != nil {
			g.Extensions["details"] = ae.Details
		}
	case isTimeout(err):
		g.Message = "the statement took longer than the statement timeout"
		g.Extensions["code"] = CodeTimeout
	default:
		g.Message = "internal error"
		g.Extensions["code"] = CodeInternalError
	}
	var ar *argumentError
	if errors.As(err, &ar) {
		if p := ar.path(); p != nil {
			g.Extensions["argumentPath"] = p
		}
	}
	return g
}

// isTimeout reports whether err is PostgreSQL cancelling a statement for
// the statement timeout.
func isTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}

func codeOf(k apierror.Kind) string {
	switch k {
	case apierror.Invalid, apierror.TooLarge:
		return CodeBadUserInput
	case apierror.NotFound:
		return CodeNotFound
	case apierror.Conflict:
		return CodeConflict
	case apierror.Forbidden, apierror.Unauthenticated:
		return CodeForbidden
	case apierror.TooManyRequests:
		return CodeLimitExceeded
	}
	return CodeInternalError
}
