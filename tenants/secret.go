package tenants

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Credential prefixes. They make a leaked credential recognisable to secret
// scanners and tell Authenticate which table to look in.
const (
	tokenPrefix   = "lat"
	sessionPrefix = "lss"
)

// secret is a freshly minted credential: the plaintext handed to the caller
// once, and the hash stored.
type secret struct {
	plaintext string
	hash      []byte
	hint      string // last 4 characters, to tell tokens apart in lists
}

// newSecret mints "<prefix>_<tenant id hex>_<base64url of 32 random bytes>".
func newSecret(prefix, tenantID string) (secret, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return secret{}, fmt.Errorf("read random secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(s))
	return secret{
		plaintext: prefix + "_" + strings.ReplaceAll(tenantID, "-", "") + "_" + s,
		hash:      sum[:],
		hint:      s[len(s)-4:],
	}, nil
}

// parsedSecret is a credential split into its parts.
type parsedSecret struct {
	prefix   string
	tenantID string // canonical uuid form
	hash     []byte
}

// parseSecret splits a presented credential; ok is false for anything that
// is not shaped like one Lattice minted.
func parseSecret(cred string) (parsedSecret, bool) {
	prefix, rest, ok := strings.Cut(cred, "_")
	if !ok || (prefix != tokenPrefix && prefix != sessionPrefix) {
		return parsedSecret{}, false
	}
	tid, s, ok := strings.Cut(rest, "_")
	if !ok || len(tid) != 32 || len(s) != 43 {
		return parsedSecret{}, false
	}
	if _, err := hex.DecodeString(tid); err != nil {
		return parsedSecret{}, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(s); err != nil {
		return parsedSecret{}, false
	}
	sum := sha256.Sum256([]byte(s))
	uuid := strings.ToLower(tid[0:8] + "-" + tid[8:12] + "-" + tid[12:16] + "-" + tid[16:20] + "-" + tid[20:32])
	return parsedSecret{prefix: prefix, tenantID: uuid, hash: sum[:]}, true
}
