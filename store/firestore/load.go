package firestore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	gfirestore "cloud.google.com/go/firestore"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Load returns the enrichment input of a candidate: its document
// `{collection}/{tenant}_{candidate}` with the fields of payload (a JSON object,
// the request's `payload`) laid over it, payload winning. candidate_id and
// org_id are always the job's. Values are JSON-friendly: timestamps become
// RFC 3339 strings (UTC), geo points {latitude, longitude}, references their
// path.
//
// It fails with ErrCandidateNotFound when there is neither a document nor a
// payload, ErrTenantMismatch when the document's org_id is another tenant's,
// ErrInvalidID or ErrInvalidPayload on bad input, and with a wrapped Firestore
// error (transient) otherwise.
func (s *CandidateStore) Load(ctx context.Context, tenantID, candidateID string, payload json.RawMessage) (map[string]any, error) {
	overlay, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	ref, err := s.doc(tenantID, candidateID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	snap, err := ref.Get(ctx)
	var candidate map[string]any
	switch {
	case status.Code(err) == codes.NotFound:
		if overlay == nil {
			return nil, fmt.Errorf("%w: no document %s and no payload", ErrCandidateNotFound, ref.Path)
		}
		candidate = make(map[string]any, len(overlay)+2)
	case err != nil:
		return nil, fmt.Errorf("firestore: reading %s: %w", ref.Path, err)
	default:
		candidate = jsonMap(snap.Data())
		if org, _ := candidate["org_id"].(string); org != "" && org != tenantID {
			return nil, fmt.Errorf("%w: document %s belongs to org %q", ErrTenantMismatch, ref.ID, org)
		}
	}
	for k, v := range overlay {
		candidate[k] = v
	}
	candidate["candidate_id"] = candidateID
	candidate["org_id"] = tenantID
	return candidate, nil
}

// decodePayload returns the payload's fields, or nil when there is no payload
// (absent, empty or JSON null).
func decodePayload(payload json.RawMessage) (map[string]any, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return nil, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	return fields, nil
}

func jsonMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

// jsonValue converts a Firestore value to one encoding/json writes faithfully
// and that reads back the same from the job's JSON.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return jsonMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case *latlng.LatLng:
		return map[string]any{"latitude": v.GetLatitude(), "longitude": v.GetLongitude()}
	case *gfirestore.DocumentRef:
		return v.Path
	case float64:
		// JSON has no NaN or infinities; encoding/json would refuse the whole map.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	default: // nil, bool, int64, string, []byte (base64 in JSON)
		return v
	}
}
