package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/headhunter/hh-enrich-svc/store"
)

// decodeBatch reads POST /v1/enrich/batch's body as a stream, one candidate at
// a time, so that no copy of the whole body is kept besides what is decoded:
// the body is capped at MaxBatchBodyBytes, and every candidate at
// MaxBodyBytes, the single route's limit (413, naming the candidate). More
// than store.MaxBatchSize candidates stop the reading at the first extra one.
func (s *server) decodeBatch(w http.ResponseWriter, r *http.Request) (*batchRequest, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBatchBodyBytes))
	dec.DisallowUnknownFields()
	req := &batchRequest{}
	if err := expectDelim(dec, '{', "Body must be a JSON object."); err != nil {
		return nil, s.batchReadError(err)
	}
	seen := map[any]bool{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, s.batchReadError(err)
		}
		if seen[key] {
			return nil, newError(CodeInvalidField, fmt.Sprintf("Field %q appears more than once.", key), map[string]any{"field": key})
		}
		seen[key] = true
		switch key {
		case "candidates":
			err = s.decodeCandidates(dec, req)
		case "force":
			if dec.Decode(&req.Force) != nil {
				err = fieldError("force", `Field "force" must be a boolean.`)
			}
		default:
			err = newError(CodeInvalidField, fmt.Sprintf("Unknown field %q.", key), map[string]any{"field": key})
		}
		if err != nil {
			return nil, s.batchReadError(err)
		}
	}
	if err := expectDelim(dec, '}', "Body is not valid JSON."); err != nil {
		return nil, s.batchReadError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, s.batchReadError(newError(CodeInvalidBody, "Body must be a single JSON object.", nil))
	}
	return req, nil
}

// decodeCandidates reads the candidates array (or null), item by item.
func (s *server) decodeCandidates(dec *json.Decoder, req *batchRequest) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "candidates": null is refused as an empty batch
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fieldError("candidates", `Field "candidates" must be an array.`)
	}
	for i := 0; dec.More(); i++ {
		if i == store.MaxBatchSize {
			return fieldError("candidates", fmt.Sprintf(`Field "candidates" must hold 1-%d candidates.`, store.MaxBatchSize))
		}
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if size := dec.InputOffset() - start; size > s.cfg.MaxBodyBytes {
			return newError(CodeBodyTooLarge, fmt.Sprintf("Candidate %d exceeds %d bytes, the limit of a single submission.", i, s.cfg.MaxBodyBytes),
				map[string]any{"field": fmt.Sprintf("candidates[%d]", i), "index": i, "limit": s.cfg.MaxBodyBytes})
		}
		var c batchCandidate
		if err == nil {
			err = decodeCandidate(raw, &c)
		}
		if err != nil {
			return candidateError(err, i)
		}
		req.Candidates = append(req.Candidates, c)
	}
	_, err = dec.Token() // the closing ']'
	return err
}

// decodeCandidate decodes one candidate of a batch as strictly as a single
// submission's body. raw is valid JSON (the stream decoded it); once its keys
// are exactly the fields, Unmarshal has no unknown field to refuse.
func decodeCandidate(raw json.RawMessage, c *batchCandidate) error {
	if err := exactKeys(raw, fieldNames(reflect.TypeFor[batchCandidate]())); err != nil {
		return err
	}
	return json.Unmarshal(raw, c)
}

// candidateError names candidate i in a decoding error; a read error (the
// body's cap, a broken connection) passes through.
func candidateError(err error, i int) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	var apiErr *Error
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &apiErr): // exactKeys' own, already the API's
	case errors.As(err, &typeErr) && typeErr.Field == "":
		apiErr = newError(CodeInvalidField, "Each candidate must be a JSON object.", nil)
	default:
		if !errors.As(bodyError(err), &apiErr) {
			return err
		}
	}
	field, _ := apiErr.Details["field"].(string)
	apiErr.Details = map[string]any{"field": fmt.Sprintf("candidates[%d]", i), "index": i}
	if field != "" {
		apiErr.Details["field"] = fmt.Sprintf("candidates[%d].%s", i, field)
	}
	apiErr.Message = fmt.Sprintf("Candidate %d: %s", i, apiErr.Message)
	return apiErr
}

func expectDelim(dec *json.Decoder, want json.Delim, message string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return newError(CodeInvalidBody, message, nil)
	}
	return nil
}

// batchReadError turns a read or decode failure into the API's error: 413
// past the body's cap, else what bodyError says.
func (s *server) batchReadError(err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge(tooLarge.Limit)
	}
	return bodyError(err)
}
