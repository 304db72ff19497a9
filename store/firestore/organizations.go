package firestore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// OrganizationsCollection holds one document per tenant (REFERENCE §2).
const OrganizationsCollection = "organizations"

// ErrOrganizationNotFound means organizations/{id} does not exist or is empty.
var ErrOrganizationNotFound = errors.New("firestore: organization not found")

// Organization reads organizations/{tenantID} for the tenant check of the API. It
// fails with ErrOrganizationNotFound for a missing or empty document, ErrInvalidID
// for an id that cannot name a document, and a wrapped Firestore error otherwise.
func (s *CandidateStore) Organization(ctx context.Context, tenantID string) (map[string]any, error) {
	if tenantID == "" || strings.Contains(tenantID, "/") {
		return nil, fmt.Errorf("%w: tenant %q", ErrInvalidID, tenantID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	snap, err := s.client.Collection(OrganizationsCollection).Doc(tenantID).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, fmt.Errorf("%w: %s", ErrOrganizationNotFound, tenantID)
	}
	if err != nil {
		return nil, fmt.Errorf("firestore: reading organizations/%s: %w", tenantID, err)
	}
	data := snap.Data()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s (empty document)", ErrOrganizationNotFound, tenantID)
	}
	return jsonMap(data), nil
}
