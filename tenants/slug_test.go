package tenants_test

import (
	"strings"
	"testing"

	"github.com/latticecrm/lattice/tenants"
)

func TestValidateSlug(t *testing.T) {
	t.Parallel()
	good := []string{
		"abc",
		"acme",
		"acme-corp",
		"a1b",
		"a-1",
		"acme2024",
		"x-y-z",
		"a" + strings.Repeat("b", 61) + "c", // 63, the maximum
		"administrator",                     // only exact reserved words are refused
		"apis",
	}
	for _, s := range good {
		if err := tenants.ValidateSlug(s); err != nil {
			t.Errorf("ValidateSlug(%q) = %v, want nil", s, err)
		}
	}

	bad := []struct {
		slug, code string
	}{
		{"", "invalid_slug"},
		{"a", "invalid_slug"},
		{"ab", "invalid_slug"}, // too short
		{"a" + strings.Repeat("b", 62) + "c", "invalid_slug"}, // 64, too long
		{"Acme", "invalid_slug"},                              // uppercase
		{"acMe", "invalid_slug"},                              // uppercase inside
		{"1acme", "invalid_slug"},                             // leading digit
		{"-acme", "invalid_slug"},                             // leading hyphen
		{"acme-", "invalid_slug"},                             // trailing hyphen
		{"ac--me", "invalid_slug"},                            // double hyphen
		{"a--b", "invalid_slug"},                              // double hyphen, minimal
		{"acme_corp", "invalid_slug"},                         // underscore
		{"acme corp", "invalid_slug"},                         // space
		{"acme.io", "invalid_slug"},                           // dot
		{"acmé", "invalid_slug"},                              // non-ASCII
		{"acme\n", "invalid_slug"},                            // trailing newline
		{"admin", "reserved_slug"},                            // reserved
		{"api", "reserved_slug"},                              // reserved
		{"www", "reserved_slug"},                              // reserved
		{"lattice", "reserved_slug"},                          // reserved
	}
	for _, c := range bad {
		t.Run(c.slug, func(t *testing.T) {
			wantInvalid(t, tenants.ValidateSlug(c.slug), "slug", c.code)
		})
	}
}
