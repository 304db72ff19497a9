package router

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of this package; router tests validate
// each response they see against it, so it cannot drift from the code.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the API's OpenAPI 3 document (YAML).
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

func handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument) // the client hung up: nothing left to tell it
}
