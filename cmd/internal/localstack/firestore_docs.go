package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// The emulator speaks Firestore's REST API: documents are {"fields": {name:
// value}}, each value an object naming its type ({"stringValue": "x"}, ...). The
// "owner" bearer token is the emulator's way to pass security rules.

// ErrNoDocument is returned by GetDocument for a document that does not exist.
var ErrNoDocument = errors.New("localstack: no such document")

func (e *FirestoreEmulator) documentURL(project, path string) string {
	return "http://" + e.Host + "/v1/projects/" + project + "/databases/(default)/documents/" + path
}

// PutDocument writes the document at path (e.g. "organizations/acme") of project,
// replacing it whole. Values may be strings, bools, numbers, nil, maps and slices.
func (e *FirestoreEmulator) PutDocument(ctx context.Context, project, path string, fields map[string]any) error {
	body, err := json.Marshal(map[string]any{"fields": encodeFields(fields)})
	if err != nil {
		return fmt.Errorf("document %s: %w", path, err)
	}
	_, err = e.documentCall(ctx, http.MethodPatch, project, path, body)
	return err
}

// GetDocument reads the document at path of project as plain Go values
// (timestamps as their RFC 3339 strings). It fails with ErrNoDocument when there
// is none.
func (e *FirestoreEmulator) GetDocument(ctx context.Context, project, path string) (map[string]any, error) {
	raw, err := e.documentCall(ctx, http.MethodGet, project, path, nil)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("document %s: %w", path, err)
	}
	out := make(map[string]any, len(doc.Fields))
	for name, v := range doc.Fields {
		out[name] = decodeValue(v)
	}
	return out, nil
}

func (e *FirestoreEmulator) documentCall(ctx context.Context, method, project, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.documentURL(project, path), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer owner")
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	switch {
	case err != nil:
		return nil, fmt.Errorf("document %s: %w", path, err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("document %s: %w", path, ErrNoDocument)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("document %s: %s %s", path, resp.Status, bytes.TrimSpace(raw))
	}
	return raw, nil
}

func encodeFields(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for name, v := range fields {
		out[name] = encodeValue(v)
	}
	return out
}

func encodeValue(v any) map[string]any {
	switch v := v.(type) {
	case nil:
		return map[string]any{"nullValue": nil}
	case string:
		return map[string]any{"stringValue": v}
	case bool:
		return map[string]any{"booleanValue": v}
	case int:
		return map[string]any{"integerValue": strconv.Itoa(v)}
	case float64:
		return map[string]any{"doubleValue": v}
	case map[string]any:
		return map[string]any{"mapValue": map[string]any{"fields": encodeFields(v)}}
	case []any:
		values := make([]any, len(v))
		for i, item := range v {
			values[i] = encodeValue(item)
		}
		return map[string]any{"arrayValue": map[string]any{"values": values}}
	default:
		return map[string]any{"stringValue": fmt.Sprint(v)}
	}
}

// decodeValue turns one REST value into a plain Go value.
func decodeValue(raw json.RawMessage) any {
	var v struct {
		String    *string                             `json:"stringValue"`
		Timestamp *string                             `json:"timestampValue"`
		Bool      *bool                               `json:"booleanValue"`
		Integer   *string                             `json:"integerValue"`
		Double    *float64                            `json:"doubleValue"`
		Map       *struct{ Fields fieldsRaw }         `json:"mapValue"`
		Array     *struct{ Values []json.RawMessage } `json:"arrayValue"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	switch {
	case v.String != nil:
		return *v.String
	case v.Timestamp != nil:
		return *v.Timestamp
	case v.Bool != nil:
		return *v.Bool
	case v.Integer != nil:
		n, _ := strconv.ParseInt(*v.Integer, 10, 64)
		return float64(n) // as encoding/json would decode it
	case v.Double != nil:
		return *v.Double
	case v.Map != nil:
		out := make(map[string]any, len(v.Map.Fields))
		for name, item := range v.Map.Fields {
			out[name] = decodeValue(item)
		}
		return out
	case v.Array != nil:
		out := make([]any, len(v.Array.Values))
		for i, item := range v.Array.Values {
			out[i] = decodeValue(item)
		}
		return out
	}
	return nil
}

type fieldsRaw = map[string]json.RawMessage
