package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latticecrm/lattice/platform/apierror"
)

// Violation is one way a record's values break the schema.
type Violation struct {
	// Path is the JSON pointer of the value in the submitted record.
	Path string `json:"path"`
	// Field is the field's API name ("" for the record as a whole).
	Field string `json:"field,omitempty"`
	// Rule is the broken rule: required, type, maxLength, pattern, enum, ...
	Rule string `json:"rule"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
	// Value is the offending value, if any.
	Value any `json:"value,omitempty"`
}

// Violations is every violation of one record. It converts to an Invalid
// *apierror.Error via APIError.
type Violations []Violation

func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Path + ": " + v.Message
	}
	return fmt.Sprintf("%d invalid value(s): %s", len(vs), strings.Join(parts, "; "))
}

// APIError returns vs as an Invalid API error with every violation in Details.
func (vs Violations) APIError() *apierror.Error {
	return &apierror.Error{Kind: apierror.Invalid, Code: "invalid_record", Message: vs.Error(), Details: vs, Err: vs}
}

func (vs *Violations) add(f *Field, path, rule string, value any, format string, args ...any) {
	name := ""
	if f != nil {
		name = f.APIName
	}
	*vs = append(*vs, Violation{Path: path, Field: name, Rule: rule, Message: fmt.Sprintf(format, args...), Value: value})
}

// DecodeJSON decodes a JSON value keeping numbers exact (json.Number).
func DecodeJSON(data []byte) (any, error) { return decodeValue(data) }

func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// Values are a record's field values by field key, normalized.
type Values map[string]any

// ValidateCreate checks a new record's values (by API name) and returns
// them by field key, normalized, with defaults applied. All violations are
// reported at once.
func (o *Object) ValidateCreate(input map[string]any) (Values, Violations) {
	out, vs := o.validate(input)
	for _, f := range o.Fields {
		if _, given := input[f.APIName]; given || f.Kind == KindAutoNumber {
			continue
		}
		if f.Default != nil {
			out[f.Key] = f.Default
		} else if f.Required {
			vs.add(f, "/"+f.APIName, "required", nil, "%s is required", f.APIName)
		}
	}
	return out, vs
}

// ValidatePatch checks changed values (by API name) of an existing record
// and returns them by field key; null clears a field unless it is required.
func (o *Object) ValidatePatch(input map[string]any) (Values, Violations) {
	return o.validate(input)
}

func (o *Object) validate(input map[string]any) (Values, Violations) {
	out := make(Values, len(input))
	var vs Violations
	for _, name := range sortedKeys(input) {
		v := input[name]
		path := "/" + escapePointer(name)
		f := o.byName[name]
		switch {
		case f == nil && IsSystemField(name) && name != "owner":
			vs.add(nil, path, "read_only", nil, "%s is a system field set by Lattice", name)
			continue
		case f == nil && name == "owner":
			continue // the record store handles owner
		case f == nil:
			vs.add(nil, path, "unknown_field", nil, "%s has no field %q", o.APIName, name)
			continue
		case f.Kind == KindAutoNumber:
			vs.add(f, path, "read_only", v, "%s is numbered automatically", name)
			continue
		}
		if v == nil {
			if f.Required {
				vs.add(f, path, "required", nil, "%s is required and cannot be null", name)
				continue
			}
			out[f.Key] = nil
			continue
		}
		if nv := f.check(v, path, &vs); nv != nil {
			out[f.Key] = nv
		}
	}
	return out, vs
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

var (
	phonePattern = regexp.MustCompile(`^\+?[0-9(][0-9 ().-]{2,30}[0-9)]$`)
	uuidPattern  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// check validates one non-null value and returns its normalized form, or
// nil after adding violations.
func (f *Field) check(v any, path string, vs *Violations) any {
	n0 := len(*vs)
	var out any
	switch f.Kind {
	case KindText, KindLongText, KindEmail, KindPhone, KindURL:
		s, ok := v.(string)
		if !ok {
			vs.add(f, path, "type", v, "%s must be a string", f.APIName)
			return nil
		}
		f.checkString(s, path, v, vs)
		switch f.Kind {
		case KindEmail:
			if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
				vs.add(f, path, "format", v, "%q is not an e-mail address", s)
			}
		case KindPhone:
			if !phonePattern.MatchString(s) {
				vs.add(f, path, "format", v, "%q is not a phone number (digits, spaces, + ( ) - .)", s)
			}
		case KindURL:
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				vs.add(f, path, "format", v, "%q is not an absolute http or https URL", s)
			}
		}
		out = s
	case KindInteger:
		r, ok := f.number(v, path, vs)
		if !ok {
			return nil
		}
		if !r.IsInt() {
			vs.add(f, path, "integer", v, "%s must be a whole number, got %v", f.APIName, v)
			return nil
		}
		if !r.Num().IsInt64() {
			vs.add(f, path, "range", v, "%s is outside the 64-bit integer range", f.APIName)
			return nil
		}
		out = json.Number(r.Num().String())
	case KindDecimal, KindPercent:
		if _, ok := f.number(v, path, vs); !ok {
			return nil
		}
		f.checkScale(v.(json.Number), path, vs)
		out = v
	case KindCurrency:
		m, ok := v.(map[string]any)
		if !ok {
			vs.add(f, path, "type", v, `%s must be an object {"amount": number, "currency": "USD"}`, f.APIName)
			return nil
		}
		for k := range m {
			if k != "amount" && k != "currency" {
				vs.add(f, path+"/"+escapePointer(k), "unknown_field", nil, "a currency value has only amount and currency")
			}
		}
		amount, code := m["amount"], m["currency"]
		_, isNumber := amount.(json.Number)
		switch {
		case amount == nil:
			vs.add(f, path+"/amount", "required", nil, "amount is required")
		case !isNumber:
			vs.add(f, path+"/amount", "type", amount, "the amount of %s must be a number", f.APIName)
		default:
			if _, ok := f.number(amount, path+"/amount", vs); ok {
				f.checkScale(amount.(json.Number), path+"/amount", vs)
			}
		}
		c, ok := code.(string)
		switch {
		case code == nil:
			vs.add(f, path+"/currency", "required", nil, "currency is required")
		case !ok || !IsCurrency(c):
			vs.add(f, path+"/currency", "currency", code, "%v is not an ISO 4217 currency code", code)
		case f.Currencies != nil && !f.Currencies[c]:
			vs.add(f, path+"/currency", "currency", code, "%s is not one of the currencies allowed for %s", c, f.APIName)
		}
		out = map[string]any{"amount": amount, "currency": code}
	case KindBoolean:
		b, ok := v.(bool)
		if !ok {
			vs.add(f, path, "type", v, "%s must be true or false", f.APIName)
			return nil
		}
		out = b
	case KindDate:
		s, ok := v.(string)
		if !ok {
			vs.add(f, path, "type", v, "%s must be a date string YYYY-MM-DD", f.APIName)
			return nil
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			vs.add(f, path, "format", v, "%q is not a date (YYYY-MM-DD)", s)
			return nil
		}
		out = d.Format(time.DateOnly)
	case KindDateTime:
		s, ok := v.(string)
		if !ok {
			vs.add(f, path, "type", v, "%s must be an RFC 3339 date-time string", f.APIName)
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || strings.ContainsRune(s, ',') { // Go also accepts a decimal comma, RFC 3339 does not
			vs.add(f, path, "format", v, "%q is not an RFC 3339 date-time (e.g. 2026-11-23T18:00:00Z)", s)
			return nil
		}
		out = t.UTC().Format(time.RFC3339Nano)
	case KindPicklist:
		s, ok := v.(string)
		if !ok {
			vs.add(f, path, "type", v, "%s must be a string", f.APIName)
			return nil
		}
		if !f.valueSet[s] {
			vs.add(f, path, "enum", v, "%q is not a value of %s (%s)", s, f.APIName, f.valueList())
			return nil
		}
		out = s
	case KindMultiPicklist:
		arr, ok := v.([]any)
		if !ok {
			vs.add(f, path, "type", v, "%s must be an array of strings", f.APIName)
			return nil
		}
		if f.MaxItems != nil && len(arr) > *f.MaxItems {
			vs.add(f, path, "maxItems", v, "%s allows at most %d values, got %d", f.APIName, *f.MaxItems, len(arr))
		}
		seen := map[string]bool{}
		list := make([]any, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			p := fmt.Sprintf("%s/%d", path, i)
			switch {
			case !ok:
				vs.add(f, p, "type", e, "values of %s must be strings", f.APIName)
			case !f.valueSet[s]:
				vs.add(f, p, "enum", e, "%q is not a value of %s (%s)", s, f.APIName, f.valueList())
			case seen[s]:
				vs.add(f, p, "uniqueItems", e, "%q appears twice", s)
			default:
				seen[s] = true
				list = append(list, s)
			}
		}
		out = list
	case KindLookup:
		s, ok := v.(string)
		if !ok {
			vs.add(f, path, "type", v, "%s must be the id (a UUID) of a %s record", f.APIName, f.targetName())
			return nil
		}
		if !uuidPattern.MatchString(s) {
			vs.add(f, path, "format", v, "%s must be the id (a UUID) of a %s record", f.APIName, f.targetName())
			return nil
		}
		out = strings.ToLower(s)
	case KindJSON:
		if f.jsonSchema != nil {
			if err := f.jsonSchema.Validate(v); err != nil {
				for _, p := range metaProblems(err, path) {
					vs.add(f, p.Pointer, "schema", nil, "%s", p.Message)
				}
			}
		}
		out = v
	case KindAutoNumber:
		vs.add(f, path, "read_only", v, "%s is numbered automatically", f.APIName)
		return nil
	default:
		vs.add(f, path, "kind", v, "%s has unknown kind %q", f.APIName, f.Kind)
	}
	if len(*vs) > n0 {
		return nil
	}
	return out
}

func (f *Field) checkString(s, path string, v any, vs *Violations) {
	n := utf8.RuneCountInString(s)
	if f.MaxLength != nil && n > *f.MaxLength {
		vs.add(f, path, "maxLength", v, "%s must be at most %d characters, got %d", f.APIName, *f.MaxLength, n)
	}
	if f.MinLength != nil && n < *f.MinLength {
		vs.add(f, path, "minLength", v, "%s must be at least %d characters, got %d", f.APIName, *f.MinLength, n)
	}
	if f.Pattern != nil && !f.Pattern.MatchString(s) {
		vs.add(f, path, "pattern", v, "%s must match %s", f.APIName, f.Pattern)
	}
}

// number checks a JSON number against minimum and maximum.
func (f *Field) number(v any, path string, vs *Violations) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		vs.add(f, path, "type", v, "%s must be a number", f.APIName)
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		vs.add(f, path, "type", v, "%s must be a number", f.APIName)
		return nil, false
	}
	if f.Minimum != nil && r.Cmp(f.Minimum) < 0 {
		vs.add(f, path, "minimum", v, "%s must be at least %s, got %s", f.APIName, f.Minimum.RatString(), n)
	}
	if f.Maximum != nil && r.Cmp(f.Maximum) > 0 {
		vs.add(f, path, "maximum", v, "%s must be at most %s, got %s", f.APIName, f.Maximum.RatString(), n)
	}
	return r, true
}

// checkScale checks n has at most f.Scale decimal places, whatever its
// notation (1.25, 125e-2): n times 10^Scale must be a whole number.
func (f *Field) checkScale(n json.Number, path string, vs *Violations) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return // number has reported it
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(f.Scale)), nil)
	if !r.Mul(r, new(big.Rat).SetInt(pow)).IsInt() {
		vs.add(f, path, "scale", n, "%s allows at most %d decimal places, got %s", f.APIName, f.Scale, n)
	}
}

func (f *Field) valueList() string {
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = v.Value
	}
	return "one of " + strings.Join(vals, ", ")
}

func (f *Field) targetName() string {
	if f.Target != nil {
		return f.Target.APIName
	}
	return "target"
}

// SlotValue returns what the records table's index slot holds for the
// normalized value v: a decimal string for numeric slots, a time for
// timestamp slots, the text or id otherwise; nil for nil.
func (f *Field) SlotValue(v any) any {
	if v == nil {
		return nil
	}
	switch f.Kind {
	case KindInteger, KindDecimal, KindPercent:
		return string(v.(json.Number))
	case KindCurrency:
		return string(v.(map[string]any)["amount"].(json.Number))
	case KindBoolean:
		if v.(bool) {
			return "1"
		}
		return "0"
	case KindDate:
		t, _ := time.Parse(time.DateOnly, v.(string))
		return t
	case KindDateTime:
		t, _ := time.Parse(time.RFC3339Nano, v.(string))
		return t
	default:
		if s, ok := v.(string); ok {
			return s
		}
		return nil
	}
}

// UniqueValue returns the canonical text the unique slot compares: e-mail
// addresses ignore case, integers their formatting.
func (f *Field) UniqueValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case json.Number:
		return string(x)
	case string:
		if f.Kind == KindEmail {
			return strings.ToLower(x)
		}
		return x
	default:
		return fmt.Sprint(x)
	}
}

// FormatAutoNumber renders the n-th number of an autoNumber field.
func (f *Field) FormatAutoNumber(n int64) string {
	return fmt.Sprintf("%s%0*d%s", f.Prefix, f.Width, n, f.Suffix)
}

// Validate checks a normalized stored value against f, for kind changes:
// it reports whether the value would be accepted as written.
func (f *Field) Validate(v any) (Violations, any) {
	var vs Violations
	out := f.check(v, "/"+f.APIName, &vs)
	return vs, out
}
