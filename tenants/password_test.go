package tenants_test

import (
	"strings"
	"testing"

	"github.com/latticecrm/lattice/tenants"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, pw, code string // code "" means accepted
	}{
		{"empty", "", "password_too_short"},
		{"nine", "123456789", "password_too_short"},
		{"ten", "1234567890", ""},
		{"nine multibyte runes", strings.Repeat("é", 9), "password_too_short"}, // 18 bytes, but 9 characters
		{"ten multibyte runes", strings.Repeat("é", 10), ""},
		{"max bytes", strings.Repeat("x", tenants.MaxPasswordLen), ""},
		{"one byte too long", strings.Repeat("x", tenants.MaxPasswordLen+1), "password_too_long"},
		{"too long in bytes", strings.Repeat("é", 129), "password_too_long"}, // 129 runes, 258 bytes
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tenants.CheckPassword(c.pw)
			if c.code == "" {
				if err != nil {
					t.Fatalf("CheckPassword = %v, want nil", err)
				}
				return
			}
			wantInvalid(t, err, "password", c.code)
		})
	}
}

func TestHashAndVerifyPassword(t *testing.T) {
	t.Parallel()
	h1, err := tenants.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := tenants.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id PHC with the expected parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of the same password are equal; the salt is not random")
	}
	if strings.Contains(h1, testPassword) {
		t.Error("hash contains the password")
	}

	ok, err := tenants.VerifyPassword(h1, testPassword)
	if err != nil || !ok {
		t.Errorf("VerifyPassword(right password) = %v, %v; want true, nil", ok, err)
	}
	ok, err = tenants.VerifyPassword(h2, testPassword)
	if err != nil || !ok {
		t.Errorf("VerifyPassword(right password, second hash) = %v, %v; want true, nil", ok, err)
	}
	ok, err = tenants.VerifyPassword(h1, testPassword+"!")
	if err != nil || ok {
		t.Errorf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
	}
	// Over-long passwords are refused without hashing them.
	ok, err = tenants.VerifyPassword(h1, strings.Repeat("x", tenants.MaxPasswordLen+1))
	if err != nil || ok {
		t.Errorf("VerifyPassword(over-long password) = %v, %v; want false, nil", ok, err)
	}

	parts := strings.Split(h1, "$") // "", argon2id, v=19, params, salt, key
	salt, key := parts[4], parts[5]
	malformed := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"too few parts", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"too many parts", h1 + "$extra"},
		{"wrong version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"garbled version", "$argon2id$version$m=19456,t=2,p=1$" + salt + "$" + key},
		{"garbled parameters", "$argon2id$v=19$m=lots$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key},
		{"key not base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$!!!!"},
		// A hash with no key bytes must not compare equal to every password.
		{"empty key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		// Parameters argon2 cannot run with must be an error, not a panic.
		{"zero passes", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"zero lanes", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
	}
	for _, c := range malformed {
		t.Run("malformed/"+c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("VerifyPassword(%q) panicked: %v; want an error", c.hash, r)
				}
			}()
			ok, err := tenants.VerifyPassword(c.hash, testPassword)
			if err == nil || ok {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want false and an error", c.hash, ok, err)
			}
		})
	}
}
