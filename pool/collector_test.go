package pool

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRestartReasonIsReportedFromTheStart compares restartReasons with the
// reason… constants: a new reason left out would get no series until it happens.
func TestEveryRestartReasonIsReportedFromTheStart(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "lifecycle.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if i >= len(spec.Values) {
				break
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(name.Name, "reason") {
				v, _ := strconv.Unquote(lit.Value)
				declared = append(declared, v)
			}
		}
		return true
	})
	if len(declared) == 0 {
		t.Fatal("no reason… constants in lifecycle.go: fix this test")
	}
	if got := slices.Sorted(slices.Values(restartReasons)); !slices.Equal(got, slices.Sorted(slices.Values(declared))) {
		t.Errorf("restartReasons %v, declared reasons %v", got, declared)
	}
}
