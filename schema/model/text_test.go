package model

import "testing"

func TestTextDefault(t *testing.T) {
	for _, c := range []struct {
		t    Text
		want string
	}{
		{Text{"zh-CN": "客户", "en": "Account"}, "Account"},
		{Text{"zh-CN": "客户", "de": "Konto"}, "Konto"},
		{Text{"en": "", "fr": "Compte"}, "Compte"},
		{nil, ""},
	} {
		if got := c.t.Default(); got != c.want {
			t.Errorf("%v.Default() = %q, want %q", c.t, got, c.want)
		}
	}
}
