package worker

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// TestTheReadmeListsExactlyTheCodesAJobCanCarry compares the README's two code
// lists with the code: every code a failed job can end with (the worker's own,
// what classify makes of every plugin reason and error, the store's lease
// expiry), and the interruptions that only ever requeue.
func TestTheReadmeListsExactlyTheCodesAJobCanCarry(t *testing.T) {
	failing, requeueing := map[string]bool{}, map[string]bool{}
	add := func(code string) {
		if releasesWithoutCharge(code) {
			requeueing[code] = true
		} else {
			failing[code] = true
		}
	}
	for _, code := range stringConsts(t, ".", "Code") {
		add(code)
	}
	for _, reason := range stringConsts(t, filepath.Join("..", "pyplugin"), "Reason") {
		for _, late := range []bool{false, true} {
			add(classify(&pyplugin.Error{Reason: pyplugin.Reason(reason), DeadlinePassed: late}).Code)
		}
	}
	for _, err := range []error{pyplugin.ErrProcessGone, pool.ErrCircuitOpen, pool.ErrExhausted, pool.ErrClosed,
		context.Canceled, context.DeadlineExceeded, errors.New("anything else")} {
		add(classify(err).Code)
	}
	for _, code := range storeFailureCodes(t) {
		add(code)
	}

	readme := readmeSection(t)
	if diff := cmp.Diff(sorted(failing), codesAfter(t, readme, "Failure codes:")); diff != "" {
		t.Errorf("README's failure codes differ from the code's (-code +README):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(requeueing), codesAfter(t, readme, "Requeued, never failed:")); diff != "" {
		t.Errorf("README's requeue-only codes differ from the code's (-code +README):\n%s", diff)
	}
}

// stringConsts returns the string constants named prefix… declared in dir's
// non-test Go files.
func stringConsts(t *testing.T, dir, prefix string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if lit, ok := valueAt(spec, i).(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(name.Name, prefix) {
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, v)
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatalf("no %s… constants in %s: fix this test", prefix, dir)
	}
	return out
}

func valueAt(spec *ast.ValueSpec, i int) ast.Expr {
	if i < len(spec.Values) {
		return spec.Values[i]
	}
	return nil
}

// storeFailureCodes are the codes the store's scripts fail jobs with themselves.
func storeFailureCodes(t *testing.T) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "store", "*.go"))
	call := regexp.MustCompile(`failForGood\([^,]+,[^,]+,[^,]+,\s*'([a-z_]+)'`)
	var out []string
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(raw), -1) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatal("no failForGood call with a literal code in store/: fix this test")
	}
	return out
}

// readmeSection is the README's paragraph on failed jobs.
func readmeSection(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "A failed job has ")
	if !ok {
		t.Fatal(`README.md has no "A failed job has …" paragraph`)
	}
	section, _, _ = strings.Cut(section, "\n\n")
	return section
}

var sentenceEnd = regexp.MustCompile(`\.(\s|$)`)

// codesAfter returns the `code`s written after marker, up to the next sentence's end.
func codesAfter(t *testing.T, text, marker string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(text, marker)
	if !ok {
		t.Fatalf("the README's failed-job paragraph has no %q", marker)
	}
	if end := sentenceEnd.FindStringIndex(rest); end != nil {
		rest = rest[:end[0]]
	}
	var out []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return slices.Sorted(slices.Values(out))
}

func sorted(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
