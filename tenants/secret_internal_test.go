package tenants

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

const testTenantID = "0b7e5a4c-3f1d-4e2a-9c8b-7a6f5e4d3c2b"

func TestNewSecretFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, prefix := range []string{tokenPrefix, sessionPrefix} {
		for range 3 {
			s, err := newSecret(prefix, testTenantID)
			if err != nil {
				t.Fatal(err)
			}
			want := prefix + "_0b7e5a4c3f1d4e2a9c8b7a6f5e4d3c2b_"
			if !strings.HasPrefix(s.plaintext, want) {
				t.Fatalf("plaintext %q does not start with %q", s.plaintext, want)
			}
			body := strings.TrimPrefix(s.plaintext, want)
			raw, err := base64.RawURLEncoding.DecodeString(body)
			if err != nil || len(raw) != 32 {
				t.Fatalf("secret part %q: %d bytes, %v; want 32 bytes of base64url", body, len(raw), err)
			}
			sum := sha256.Sum256([]byte(body))
			if !bytes.Equal(s.hash, sum[:]) {
				t.Fatalf("hash is not the SHA-256 of the secret part")
			}
			if s.hint != body[len(body)-4:] {
				t.Fatalf("hint %q, want the last 4 characters of %q", s.hint, body)
			}
			if seen[body] {
				t.Fatalf("secret %q minted twice", body)
			}
			seen[body] = true

			p, ok := parseSecret(s.plaintext)
			if !ok {
				t.Fatalf("parseSecret(%q) refused a minted secret", s.plaintext)
			}
			if p.prefix != prefix || p.tenantID != testTenantID || !bytes.Equal(p.hash, s.hash) {
				t.Fatalf("parseSecret = %+v; want prefix %q, tenant %q and the minted hash", p, prefix, testTenantID)
			}
		}
	}
}

func TestParseSecretRejects(t *testing.T) {
	t.Parallel()
	s, err := newSecret(tokenPrefix, testTenantID)
	if err != nil {
		t.Fatal(err)
	}
	tid := strings.ReplaceAll(testTenantID, "-", "")
	body := s.plaintext[len("lat_")+33:]
	cases := map[string]string{
		"empty":                 "",
		"no separators":         "garbage",
		"prefix only":           "lat_",
		"unknown prefix":        "xyz_" + tid + "_" + body,
		"uppercase prefix":      "LAT_" + tid + "_" + body,
		"no secret":             "lat_" + tid,
		"empty secret":          "lat_" + tid + "_",
		"short tenant":          "lat_" + tid[1:] + "_" + body,
		"long tenant":           "lat_" + tid + "0_" + body,
		"tenant with hyphens":   "lat_" + testTenantID + "_" + body,
		"tenant not hex":        "lat_" + "g" + tid[1:] + "_" + body,
		"short secret":          "lat_" + tid + "_" + body[1:],
		"long secret":           "lat_" + tid + "_" + body + "A",
		"secret not base64url":  "lat_" + tid + "_" + "+" + body[1:],
		"secret padded":         "lat_" + tid + "_" + body[:42] + "=",
		"leading space":         " " + s.plaintext,
		"trailing newline":      s.plaintext + "\n",
		"bearer scheme left in": "Bearer " + s.plaintext,
	}
	for name, cred := range cases {
		if p, ok := parseSecret(cred); ok {
			t.Errorf("%s: parseSecret(%q) = %+v, true; want refusal", name, cred, p)
		}
	}
}
