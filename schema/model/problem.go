package model

import (
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
)

// Problem is one thing wrong with a definition.
type Problem struct {
	// Pointer is the JSON pointer of the offending keyword in the submitted
	// document, e.g. "/objects/0/properties/email/x-lattice-field/kind".
	Pointer string `json:"pointer"`
	// Code is stable and machine-readable, e.g. "unknown_kind".
	Code string `json:"code"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s (%s)", p.Pointer, p.Message, p.Code) }

// Problems is every problem found in a definition. It converts to an
// Invalid *apierror.Error via APIError.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s):\n  %s", len(ps), strings.Join(lines, "\n  "))
}

// APIError returns ps as an Invalid API error about a schema definition,
// carrying the problems as details.
func (ps Problems) APIError() *apierror.Error {
	return ps.APIErrorAbout("invalid_definition", "invalid schema definition")
}

// APIErrorAbout returns ps as an Invalid API error with the given code,
// its message starting with what (e.g. "invalid condition").
func (ps Problems) APIErrorAbout(code, what string) *apierror.Error {
	return &apierror.Error{Kind: apierror.Invalid, Code: code, Message: what + ": " + ps.Error(), Details: ps, Err: ps}
}

func (ps *Problems) add(pointer, code, format string, args ...any) {
	*ps = append(*ps, Problem{Pointer: pointer, Code: code, Message: fmt.Sprintf(format, args...)})
}

// ptr joins JSON pointer tokens, escaping '~' and '/'.
func ptr(base string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		s := fmt.Sprint(t)
		s = strings.ReplaceAll(s, "~", "~0")
		s = strings.ReplaceAll(s, "/", "~1")
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String()
}
