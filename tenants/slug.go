package tenants

import (
	"regexp"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
)

// slugPattern matches the tenants_slug_format check in the database: 3 to 63
// characters of a-z, 0-9 and '-', starting with a letter and not ending with
// '-', so a slug is safe in URLs, hostnames and file names.
var slugPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)

// reservedSlugs would collide with Lattice's own routes or hostnames.
var reservedSlugs = map[string]bool{
	"admin": true, "api": true, "app": true, "auth": true, "console": true,
	"graphql": true, "healthz": true, "lattice": true, "login": true,
	"readyz": true, "static": true, "system": true, "www": true,
}

// ValidateSlug reports why s is not an acceptable tenant slug, or nil.
func ValidateSlug(s string) error {
	switch {
	case !slugPattern.MatchString(s):
		return apierror.Invalidf("slug", "invalid_slug",
			"slug %q must be 3-63 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen", s)
	case strings.Contains(s, "--"):
		return apierror.Invalidf("slug", "invalid_slug", "slug %q must not contain consecutive hyphens", s)
	case reservedSlugs[s]:
		return apierror.Invalidf("slug", "reserved_slug", "slug %q is reserved", s)
	}
	return nil
}
