package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// assertionsPerFunctionMin is the density of assertions core/ keeps: TIGER_STYLE asks for
// at least two per function on average (TigerBeetle's replica.zig has about six).
const assertionsPerFunctionMin = 2.0

// TestAssertionDensity counts, over core's non-test files, the functions and the
// assertions in them (calls of assert and panic), and fails below the density the project
// keeps. A function with no assertion is fine when its neighbours make up for it; the log
// lists the files from sparsest, to show where the next ones belong.
func TestAssertionDensity(t *testing.T) {
	functions, assertions, perFile := assertionCounts(t)
	density := float64(assertions) / float64(functions)
	t.Logf("core/: %d assertions in %d functions, %.2f per function", assertions, functions, density)
	files := make([]string, 0, len(perFile))
	// map order: the names are sorted below.
	for name := range perFile {
		files = append(files, name)
	}
	sort.Slice(files, func(i, j int) bool {
		a, b := perFile[files[i]], perFile[files[j]]
		return float64(a[1])/float64(max(a[0], 1)) < float64(b[1])/float64(max(b[0], 1))
	})
	for _, name := range files {
		c := perFile[name]
		t.Logf("  %-22s %3d functions %4d assertions", name, c[0], c[1])
	}
	if density < assertionsPerFunctionMin {
		t.Errorf("core/ has %.2f assertions per function; keep at least %.1f", density, assertionsPerFunctionMin)
	}
}

// assertionCounts parses core's non-test files: functions (declarations), assertions (calls
// of assert and panic), and both per file.
func assertionCounts(t *testing.T) (functions, assertions int, perFile map[string][2]int) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	perFile = map[string][2]int{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "assert.go" {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var c [2]int
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Body != nil {
					c[0]++
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "assert" || id.Name == "panic") {
					c[1]++
				}
			}
			return true
		})
		perFile[name] = c
		functions, assertions = functions+c[0], assertions+c[1]
	}
	return functions, assertions, perFile
}

func TestAssertNamesTheFailingLine(t *testing.T) {
	text, panicked := unitRecover(func() { assert(1+1 == 3) })
	if !panicked || !strings.Contains(text, "core/assert_test.go:") {
		t.Fatalf("assert(false) gave %q, panicked %v; want the failing line named", text, panicked)
	}
	if _, panicked := unitRecover(func() { assert(true) }); panicked {
		t.Fatal("assert(true) panicked")
	}
}
