package transfer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// MultiSeparator separates the values of a multiPicklist (and tags) in a
// CSV cell.
const MultiSeparator = ";"

// fromCSV converts a non-empty CSV cell to the value the API takes for f,
// or returns a violation when the text cannot be one. Values that convert
// are checked by the record store like any other (picklist values, dates,
// ranges...), so this only decides the JSON type.
func fromCSV(f *model.Field, s string) (any, *model.Violation) {
	bad := func(rule, format string, args ...any) (any, *model.Violation) {
		return nil, &model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: rule, Value: s, Message: fmt.Sprintf(format, args...)}
	}
	switch f.Kind {
	case model.KindText, model.KindLongText, model.KindEmail, model.KindPhone, model.KindURL, model.KindPicklist:
		return s, nil
	case model.KindInteger, model.KindDecimal, model.KindPercent:
		t := strings.TrimSpace(s)
		if !isJSONNumber(t) {
			return bad("type", "%s must be a number (such as 12 or -3.75), got %q", f.APIName, s)
		}
		return json.Number(t), nil
	case model.KindCurrency:
		parts := strings.Fields(s)
		if len(parts) != 2 || !isJSONNumber(parts[0]) {
			return bad("type", "%s must be an amount and a currency code such as \"12.50 USD\", got %q", f.APIName, s)
		}
		return map[string]any{"amount": json.Number(parts[0]), "currency": strings.ToUpper(parts[1])}, nil
	case model.KindBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return bad("type", "%s must be true or false, got %q", f.APIName, s)
	case model.KindDate, model.KindDateTime, model.KindLookup:
		return strings.TrimSpace(s), nil
	case model.KindMultiPicklist:
		list := []any{}
		for _, v := range strings.Split(s, MultiSeparator) {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		return list, nil
	case model.KindJSON:
		v, err := model.DecodeJSON([]byte(s))
		if err != nil {
			return bad("format", "%s must be JSON: %v", f.APIName, err)
		}
		return v, nil
	default:
		return s, nil
	}
}

// isJSONNumber reports whether s is a number in JSON syntax: what the
// store's numbers are stored as.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s) && len(s) > 0
}

// toCSV renders a value as read from the store (records.Record.Values) as
// the CSV text fromCSV reads back; nil is the empty cell.
func toCSV(f *model.Field, v any) string {
	if v == nil {
		return ""
	}
	switch f.Kind {
	case model.KindCurrency:
		if m, ok := v.(map[string]any); ok {
			return fmt.Sprintf("%v %v", m["amount"], m["currency"])
		}
	case model.KindMultiPicklist:
		if list, ok := v.([]any); ok {
			parts := make([]string, len(list))
			for i, e := range list {
				parts[i] = fmt.Sprint(e)
			}
			return strings.Join(parts, MultiSeparator)
		}
	case model.KindJSON:
		b, err := json.Marshal(v)
		if err == nil {
			return string(b)
		}
	}
	return scalarText(v)
}

// scalarText renders a JSON scalar as text.
func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
