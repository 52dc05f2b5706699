package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
)

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{2,39}$`)

// ValidateSlug enforces ^[a-z][a-z0-9-]{2,39}$. The slug is a label only: it
// never becomes part of an SQL identifier.
func ValidateSlug(s string) error {
	if !slugRE.MatchString(s) {
		return FieldError("slug", "slug must match ^[a-z][a-z0-9-]{2,39}$")
	}
	return nil
}

// APIKeyPrefix starts every tenant API key.
const APIKeyPrefix = "tk_"

const apiKeyRandomBytes = 32

var apiKeyLen = len(APIKeyPrefix) + base64.RawURLEncoding.EncodedLen(apiKeyRandomBytes)

// NewAPIKey returns a fresh key: "tk_" and 32 random bytes, base64url.
func NewAPIKey() string {
	b := make([]byte, apiKeyRandomBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseAPIKey checks a key's shape and returns its SHA-256, the only form in
// which keys are stored. Malformed keys never reach the database.
func ParseAPIKey(key string) ([]byte, error) {
	if len(key) != apiKeyLen || !strings.HasPrefix(key, APIKeyPrefix) {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(key[len(APIKeyPrefix):])
	if err != nil || len(raw) != apiKeyRandomBytes {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	h := sha256.Sum256([]byte(key))
	return h[:], nil
}

// ParseBearer extracts the token from an Authorization header value.
func ParseBearer(header string) (string, bool) {
	const p = "Bearer "
	if len(header) <= len(p) || !strings.EqualFold(header[:len(p)], p) {
		return "", false
	}
	tok := header[len(p):]
	if strings.ContainsAny(tok, " \t\r\n") {
		return "", false
	}
	return tok, true
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidID reports whether s is a canonical lower-case UUID, the only id form
// the API issues. Anything else is "not found" without a query.
func ValidID(s string) bool { return uuidRE.MatchString(s) }

var schemaRE = regexp.MustCompile(`^t_[0-9a-f]{32}$`)

// SchemaName derives the schema (and role) name from a tenant id. It panics on
// an id that is not a canonical UUID: identifiers are only ever built from
// server-generated ids.
func SchemaName(id string) string {
	if !ValidID(id) {
		panic("tenant: SchemaName of invalid id")
	}
	return "t_" + strings.ReplaceAll(id, "-", "")
}

// ValidSchemaName reports whether s has the shape SchemaName produces.
func ValidSchemaName(s string) bool { return schemaRE.MatchString(s) }

// NewID returns a random (v4) UUID in canonical form.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
