package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// apiSpec is openapi.yaml, loaded and validated once for the whole package.
var apiSpec = sync.OnceValues(func() (*openAPISpec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &openAPISpec{doc: doc, router: r}, nil
})

type openAPISpec struct {
	doc    *openapi3.T
	router routers.Router
}

func spec(t testing.TB) *openAPISpec {
	t.Helper()
	s, err := apiSpec()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return s
}

// checkResponse fails t unless the response matches openapi.yaml: a documented
// status of the operation with its headers and body schema. Requests outside
// the document (unknown routes, wrong methods) must answer with the Error schema.
// Every response must carry X-Request-ID.
func checkResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	s := spec(t)
	if header.Get(RequestIDHeaderDefault) == "" {
		t.Errorf("%s %s: %d without %s", req.Method, req.URL.Path, status, RequestIDHeaderDefault)
	}
	route, params, err := s.router.FindRoute(req)
	// The legacy router returns fresh RouteErrors, so errors.Is cannot name them.
	if routeErr := (*routers.RouteError)(nil); errors.As(err, &routeErr) &&
		(routeErr.Reason == routers.ErrPathNotFound.Error() || routeErr.Reason == routers.ErrMethodNotAllowed.Error()) {
		checkErrorBody(t, s, req, status, body)
		return
	}
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		t.Errorf("%s %s: response %d %s does not match openapi.yaml: %v", req.Method, req.URL.Path, status, body, err)
	}
}

func checkErrorBody(t testing.TB, s *openAPISpec, req *http.Request, status int, body []byte) {
	t.Helper()
	if status < 400 {
		t.Errorf("%s %s is not in openapi.yaml but answered %d", req.Method, req.URL.Path, status)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: %d body %q is not JSON", req.Method, req.URL.Path, status, body)
		return
	}
	if err := s.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		t.Errorf("%s %s: %d body %s is not an Error: %v", req.Method, req.URL.Path, status, body, err)
	}
}

// serve runs req through h, checks the response against openapi.yaml and returns it.
func serve(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	// The validator reads only the request line and headers: the body is spent.
	checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	return rec
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()

	t.Run("DocumentIsValidOpenAPI3", func(t *testing.T) {
		t.Parallel()
		spec(t)
	})

	t.Run("DescribesEveryRouteAndNoOther", func(t *testing.T) {
		t.Parallel()
		s, err := newServer(Config{Store: downStore{}, Batches: downStore{}, Queue: downStore{}, Pool: &recordingPool{}, Auth: noAuth(t)})
		if err != nil {
			t.Fatal(err)
		}
		s.routes()
		param := regexp.MustCompile(`:([A-Za-z]+)`)
		var registered []string
		for _, r := range s.registered {
			registered = append(registered, param.ReplaceAllString(r, "{$1}"))
		}
		var documented []string
		for path, item := range spec(t).doc.Paths.Map() {
			for method := range item.Operations() {
				documented = append(documented, method+" "+path)
			}
		}
		slices.Sort(registered)
		slices.Sort(documented)
		if !slices.Equal(registered, documented) {
			t.Fatalf("routes %v\ndocumented %v", registered, documented)
		}
	})

	t.Run("IsServedAsYAML", func(t *testing.T) {
		t.Parallel()
		h, err := New(Config{Store: downStore{}, Auth: noAuth(t)})
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") ||
			!bytes.Equal(rec.Body.Bytes(), OpenAPIDocument()) {
			t.Fatalf("got %d %s, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	})

	t.Run("CatchesAResponseThatDrifts", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest(http.MethodGet, "/ready", nil)
		header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}
		rt := &recordingTB{TB: t}
		checkResponse(rt, req, http.StatusOK, header, []byte(`{"status":"ready"}`)) // no service
		checkResponse(rt, req, http.StatusTeapot, header, []byte(`{"status":"ready","service":"s"}`))
		if rt.errors != 2 {
			t.Fatalf("the validator saw %d of 2 drifts", rt.errors)
		}
	})
}

// recordingTB counts errors instead of failing, to test the checker itself.
type recordingTB struct {
	testing.TB
	errors int
}

func (r *recordingTB) Errorf(string, ...any) { r.errors++ }
func (r *recordingTB) Helper()               {}
