package localstack

import (
	"bytes"
	"encoding/json"
)

// bodyEncoder is a request body that writes its own JSON.
type bodyEncoder interface {
	appendJSON(dst []byte) ([]byte, error)
}

// encodeBody encodes a request body. Bodies that carry candidate documents write
// themselves: json.Marshal would re-scan and compact every raw payload, which in a
// flood of 20,000 jobs is harness CPU taken from the service under test.
func encodeBody(in any) ([]byte, error) {
	if e, ok := in.(bodyEncoder); ok {
		return e.appendJSON(make([]byte, 0, 2048))
	}
	return json.Marshal(in)
}

// appendJSON writes the body with the payload as it came from the data file (each
// document is one valid JSON object: LoadCandidates parsed it).
func (b SubmitBody) appendJSON(dst []byte) ([]byte, error) {
	dst, err := appendField(dst, '{', "candidateId", b.CandidateID)
	if err != nil {
		return nil, err
	}
	if b.Async != nil {
		dst = append(dst, `,"async":`...)
		dst = appendBool(dst, *b.Async)
	}
	if b.IdempotencyKey != "" {
		if dst, err = appendField(dst, ',', "idempotencyKey", b.IdempotencyKey); err != nil {
			return nil, err
		}
	}
	if b.Force {
		dst = append(dst, `,"force":true`...)
	}
	dst = appendPayload(dst, b.Payload)
	return append(dst, '}'), nil
}

func (b BatchBody) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"candidates":[`...)
	for i, c := range b.Candidates {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendField(dst, '{', "candidateId", c.CandidateID); err != nil {
			return nil, err
		}
		if c.IdempotencyKey != "" {
			if dst, err = appendField(dst, ',', "idempotencyKey", c.IdempotencyKey); err != nil {
				return nil, err
			}
		}
		dst = append(appendPayload(dst, c.Payload), '}')
	}
	dst = append(dst, ']')
	if b.Force {
		dst = append(dst, `,"force":true`...)
	}
	return append(dst, '}'), nil
}

// appendField writes sep, then "name": followed by value as a JSON string.
func appendField(dst []byte, sep byte, name, value string) ([]byte, error) {
	quoted, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	dst = append(dst, sep, '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return append(dst, quoted...), nil
}

func appendPayload(dst []byte, payload json.RawMessage) []byte {
	if len(bytes.TrimSpace(payload)) == 0 {
		return dst
	}
	dst = append(dst, `,"payload":`...)
	return append(dst, payload...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}
