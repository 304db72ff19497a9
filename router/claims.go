package router

import (
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Principal is who sent a request, as a verified token says.
type Principal struct {
	// UID is the first of the uid, sub and client_id claims.
	UID string
	// OrgID is the organization (tenant) the token belongs to, found at the first
	// of orgClaimPaths; "" when the token names none.
	OrgID string
	// Scopes come from the scope claim (space-separated) and the scp claim.
	Scopes []string
	// Issuer is the token's iss; Source is "firebase" or "gateway".
	Issuer    string
	Source    string
	ExpiresAt time.Time
}

// HasScope reports whether the token grants scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && scope != "" && slices.Contains(p.Scopes, scope)
}

// uidClaims are tried in order (REFERENCE §2 buildUser).
var uidClaims = [][]string{{"uid"}, {"sub"}, {"client_id"}}

// orgClaimPaths are tried in this order, the reference's: the first that holds a
// non-empty string names the organization. "org" counts only as a string; an
// object there is read at org.id.
var orgClaimPaths = [][]string{
	{"org_id"}, {"orgId"}, {"tenant_id"}, {"tenantId"}, {"organization_id"}, {"organizationId"},
	{"org"}, {"org", "id"}, {"tenant", "id"}, {"tenant", "tenant_id"},
	{"firebase", "identities", "org_id"},
}

func newPrincipal(tok jwt.Token, source string) (*Principal, error) {
	claims, err := claimsOf(tok)
	if err != nil {
		return nil, err
	}
	p := &Principal{
		UID:    firstClaim(claims, uidClaims),
		OrgID:  firstClaim(claims, orgClaimPaths),
		Scopes: scopesOf(claims),
		Source: source,
	}
	p.Issuer, _ = tok.Issuer()
	p.ExpiresAt, _ = tok.Expiration()
	return p, nil
}

// firstClaim returns the first non-empty string found at one of paths.
func firstClaim(claims map[string]any, paths [][]string) string {
	for _, path := range paths {
		if s := claimString(claims, path); s != "" {
			return s
		}
	}
	return ""
}

// claimString follows path through nested objects. A list at the end gives its
// first string: Firebase keeps sign-in identities as lists
// (firebase.identities.org_id: ["acme"]).
func claimString(claims map[string]any, path []string) string {
	var v any = claims
	for _, name := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = obj[name]
	}
	switch v := v.(type) {
	case string:
		return v
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// scopesOf merges scope ("a b c", OAuth 2) and scp (a list, or a string as some
// issuers send it).
func scopesOf(claims map[string]any) []string {
	var out []string
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, item := range v {
				if s, ok := item.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
