package transfer

import (
	"encoding/json"
	"testing"

	"github.com/latticecrm/lattice/schema/model"
)

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "-3.75": true, "1e3": true, "1.5E-2": true, "0.5": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false, "1/2": false,
		"0x10": false, "NaN": false, "Inf": false, "1_000": false, "1,5": false, " 1": false,
	} {
		if isJSONNumber(s) != want {
			t.Errorf("isJSONNumber(%q) = %v", s, !want)
		}
	}
}

// Every kind's CSV text converts to the API's value and back to the same
// text.
func TestCSVConversionRoundTrips(t *testing.T) {
	for _, c := range []struct {
		kind model.Kind
		text string
		want any
	}{
		{model.KindText, " spaced ", " spaced "},
		{model.KindInteger, "42", json.Number("42")},
		{model.KindDecimal, "-3.75", json.Number("-3.75")},
		{model.KindPercent, "12.5", json.Number("12.5")},
		{model.KindCurrency, "12.50 USD", map[string]any{"amount": json.Number("12.50"), "currency": "USD"}},
		{model.KindBoolean, "true", true},
		{model.KindBoolean, "false", false},
		{model.KindDate, "2026-11-23", "2026-11-23"},
		{model.KindDateTime, "2026-11-23T18:00:00Z", "2026-11-23T18:00:00Z"},
		{model.KindMultiPicklist, "a;b", []any{"a", "b"}},
		{model.KindJSON, `{"a":[1,null]}`, map[string]any{"a": []any{json.Number("1"), nil}}},
		{model.KindLookup, "0f0f0f0f-0000-4000-8000-000000000001", "0f0f0f0f-0000-4000-8000-000000000001"},
	} {
		f := &model.Field{APIName: "f", Kind: c.kind}
		v, bad := fromCSV(f, c.text)
		if bad != nil {
			t.Errorf("%s %q: %v", c.kind, c.text, bad)
			continue
		}
		got, _ := json.Marshal(v)
		want, _ := json.Marshal(c.want)
		if string(got) != string(want) {
			t.Errorf("%s %q: got %s, want %s", c.kind, c.text, got, want)
		}
		if back := toCSV(f, v); back != c.text {
			t.Errorf("%s %q: back to %q", c.kind, c.text, back)
		}
	}
	for _, c := range []struct {
		kind model.Kind
		text string
	}{
		{model.KindInteger, "abc"}, {model.KindDecimal, "1,5"}, {model.KindCurrency, "12.50"}, {model.KindCurrency, "USD 12.50"},
		{model.KindBoolean, "yes"}, {model.KindJSON, "{"},
	} {
		f := &model.Field{APIName: "f", Kind: c.kind}
		if _, bad := fromCSV(f, c.text); bad == nil || bad.Field != "f" || bad.Value != c.text || bad.Rule == "" {
			t.Errorf("%s %q: %+v", c.kind, c.text, bad)
		}
	}
}
