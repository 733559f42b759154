package sim

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// hygienePackages are the packages whose every decision must come from the seed: the
// replication code and the simulated world. The command line (wall time, worker
// goroutines) and the checker of outside histories (time limits) are not among them.
var hygienePackages = []string{
	"github.com/vsrsim/vsrsim/core",
	"github.com/vsrsim/vsrsim/entropy",
	"github.com/vsrsim/vsrsim/simclock",
	"github.com/vsrsim/vsrsim/simnet",
	"github.com/vsrsim/vsrsim/simstorage",
	"github.com/vsrsim/vsrsim/sim",
}

// orderMarker is the comment that declares a range over a map harmless: the line must say
// why the order cannot reach the outcome (the keys are sorted, the result is a set, ...).
const orderMarker = "map order:"

// TestDeterminismHygiene fails when simulated code reads the wall clock, uses global or
// crypto randomness, starts a goroutine, selects among several channels, or ranges over a
// map without saying why the order does not matter.
func TestDeterminismHygiene(t *testing.T) {
	config := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports, Tests: false}
	pkgs, err := packages.Load(config, hygienePackages...)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, pkg := range pkgs {
		for _, e := range pkg.Errors {
			t.Fatalf("%s: %v", pkg.PkgPath, e)
		}
		problems = append(problems, hygieneProblems(pkg)...)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func hygieneProblems(pkg *packages.Package) []string {
	var problems []string
	report := func(pos token.Pos, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", pkg.Fset.Position(pos), fmt.Sprintf(format, args...)))
	}
	for _, file := range pkg.Syntax {
		if strings.HasSuffix(pkg.Fset.Position(file.Pos()).Filename, "_test.go") {
			continue
		}
		for _, spec := range file.Imports {
			switch path := strings.Trim(spec.Path.Value, `"`); path {
			case "math/rand", "crypto/rand":
				report(spec.Pos(), "imports %s: draw from an entropy stream instead", path)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				report(n.Pos(), "go statement: the world runs in one goroutine")
			case *ast.SelectStmt:
				if len(n.Body.List) > 1 {
					report(n.Pos(), "select with %d cases: the runtime picks among ready cases at random", len(n.Body.List))
				}
			case *ast.RangeStmt:
				if isMap(pkg.TypesInfo.TypeOf(n.X)) && !marked(pkg.Fset, file, n.Pos()) {
					report(n.Pos(), "range over a map: sort the keys, or say why the order cannot matter (%q)", orderMarker)
				}
			case *ast.SelectorExpr:
				hygieneCall(pkg, n, report)
			}
			return true
		})
	}
	return problems
}

// hygieneCall flags uses of the wall clock and of math/rand/v2's global source.
func hygieneCall(pkg *packages.Package, n *ast.SelectorExpr, report func(token.Pos, string, ...any)) {
	ident, ok := n.X.(*ast.Ident)
	if !ok {
		return
	}
	pkgName, ok := pkg.TypesInfo.Uses[ident].(*types.PkgName)
	if !ok {
		return
	}
	switch path := pkgName.Imported().Path(); {
	case path == "time" && wallClock[n.Sel.Name]:
		report(n.Pos(), "time.%s: simulated code reads time from its Clock or the tick", n.Sel.Name)
	case path == "math/rand/v2" && !randConstructors[n.Sel.Name]:
		report(n.Pos(), "rand.%s: the global source; draw from an entropy stream", n.Sel.Name)
	}
}

var wallClock = map[string]bool{"Now": true, "Since": true, "Until": true, "After": true,
	"AfterFunc": true, "Sleep": true, "Tick": true, "NewTimer": true, "NewTicker": true}

// randConstructors are the math/rand/v2 names that build a seeded source, not draw from
// the global one.
var randConstructors = map[string]bool{"NewPCG": true, "PCG": true, "New": true, "Rand": true,
	"Source": true, "NewChaCha8": true, "ChaCha8": true}

func isMap(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

// marked reports whether the range statement's line, or the line above, carries the marker.
func marked(fset *token.FileSet, file *ast.File, pos token.Pos) bool {
	line := fset.Position(pos).Line
	for _, group := range file.Comments {
		for _, c := range group.List {
			l := fset.Position(c.Pos()).Line
			if (l == line || l == line-1) && strings.Contains(c.Text, orderMarker) {
				return true
			}
		}
	}
	return false
}

// TestHygieneCatchesViolations runs the scan on a small package that breaks every rule, to
// show the scan can fail.
func TestHygieneCatchesViolations(t *testing.T) {
	dir := t.TempDir()
	src := `package bad

import (
	"math/rand/v2"
	"time"
)

func Bad(m map[int]int, a, b chan int) int {
	go func() {}()
	select {
	case <-a:
	case <-b:
	}
	for k := range m {
		_ = k
	}
	// map order: summing is commutative
	for _, v := range m {
		_ = v
	}
	_ = time.Now()
	return rand.IntN(3)
}
`
	writeFile(t, dir+"/go.mod", "module bad\n\ngo 1.24\n")
	writeFile(t, dir+"/bad.go", src)
	pkgs, err := packages.Load(&packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedFiles |
		packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}, "./...")
	if err != nil || len(pkgs) != 1 {
		t.Fatalf("load: %v (%d packages)", err, len(pkgs))
	}
	problems := hygieneProblems(pkgs[0])
	want := []string{"go statement", "select with 2 cases", "range over a map", "time.Now", "rand.IntN"}
	if len(problems) != len(want) {
		t.Fatalf("found %d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d: %q, want one about %q", i, problems[i], w)
		}
	}
}
