package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Kinds of mutation.
const (
	kindRelational = "relational"
	kindLogical    = "logical"
	kindOffByOne   = "off-by-one"
)

// Site is one first-order mutant: one token of one file replaced (or, for a `!`, removed).
type Site struct {
	File   string `json:"file"` // base name, in the package's directory
	Line   int    `json:"line"`
	Col    int    `json:"col"`    // in bytes, 1-based, as the compiler counts
	Offset int    `json:"offset"` // of the token in the file
	Old    string `json:"old"`
	New    string `json:"new"` // "" removes the token
	Kind   string `json:"kind"`
	Code   string `json:"code"` // the original line, trimmed
	at     int    // the token's byte index in Code
}

// ID names a site stably while its file does not change above it: file:line:col:old→new.
func (s Site) ID() string {
	return fmt.Sprintf("%s:%d:%d:%s→%s", s.File, s.Line, s.Col, s.Old, s.New)
}

// relationalNeighbours moves a comparison's boundary by one and negates it: the slips a
// person makes, not every operator there is.
var relationalNeighbours = map[token.Token][]token.Token{
	token.LSS: {token.LEQ, token.GEQ},
	token.LEQ: {token.LSS, token.GTR},
	token.GTR: {token.GEQ, token.LEQ},
	token.GEQ: {token.GTR, token.LSS},
	token.EQL: {token.NEQ},
	token.NEQ: {token.EQL},
}

// excludedFiles hold no replication logic a checker could be asked to judge: the
// deliberate bugs (mutants by design), the assertion machinery (a mutant there only
// silences or fires every assertion), and rendering for traces.
var excludedFiles = map[string]string{
	"bugs.go":     "deliberate bugs, switched on only by --bug",
	"assert.go":   "the assertion machinery itself",
	"describe.go": "renders messages as text",
}

// source is one parsed, type-checked file and its bytes.
type source struct {
	name string // base name
	data []byte
	file *ast.File
}

// loadPackage parses and type-checks the package in dir (non-test files), reading every
// file from files when it is there: the bytes enumerated are the bytes later mutated.
func loadPackage(dir string, files map[string][]byte) (
	*token.FileSet, *types.Info, []source, error) {
	overlay := map[string][]byte{}
	for name, data := range files {
		overlay[filepath.Join(dir, name)] = data
	}
	// A file the working tree gained since the snapshot is hidden as the build hides it:
	// go/packages cannot delete a file, so it reads as an empty file of the package.
	hidden, err := hiddenFiles(dir, files)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, name := range hidden {
		overlay[filepath.Join(dir, name)] = []byte("package " + packageName(files) + "\n")
	}
	config := &packages.Config{Dir: dir, Overlay: overlay, Tests: false,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo}
	pkgs, err := packages.Load(config, ".")
	if err != nil {
		return nil, nil, nil, err
	}
	if len(pkgs) != 1 {
		return nil, nil, nil, fmt.Errorf("%s: want one package, found %d", dir, len(pkgs))
	}
	pkg := pkgs[0]
	if len(pkg.Errors) > 0 {
		return nil, nil, nil, fmt.Errorf("%s does not type-check: %v", dir, pkg.Errors[0])
	}
	var sources []source
	for _, f := range pkg.Syntax {
		path := pkg.Fset.Position(f.Pos()).Filename
		name := filepath.Base(path)
		if slices.Contains(hidden, name) {
			continue
		}
		data, ok := files[name]
		if !ok {
			if data, err = os.ReadFile(path); err != nil {
				return nil, nil, nil, err
			}
		}
		sources = append(sources, source{name: name, data: data, file: f})
	}
	sort.Slice(sources, func(i, j int) bool { return sources[i].name < sources[j].name })
	return pkg.Fset, pkg.TypesInfo, sources, nil
}

// hiddenFiles lists the non-test .go files of dir that a snapshot's files do not hold;
// none when files is nil (the package is read as it is on disk).
func hiddenFiles(dir string, files map[string][]byte) ([]string, error) {
	if files == nil {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var hidden []string
	for _, e := range entries {
		name := e.Name()
		if _, ok := files[name]; !ok && !e.IsDir() && strings.HasSuffix(name, ".go") &&
			!strings.HasSuffix(name, "_test.go") {
			hidden = append(hidden, name)
		}
	}
	return hidden, nil
}

// packageName is the package clause of the snapshot's files ("core" when it holds none).
func packageName(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(token.NewFileSet(), name, files[name], parser.PackageClauseOnly)
		if err == nil && !strings.HasSuffix(name, "_test.go") {
			return f.Name.Name
		}
	}
	return "core"
}

// enumerate lists every mutation site of the sources, in file order.
func enumerate(fset *token.FileSet, info *types.Info, sources []source) []Site {
	var sites []Site
	for _, src := range sources {
		if _, skip := excludedFiles[src.name]; skip {
			continue
		}
		f := &finder{fset: fset, info: info, src: src}
		ast.Inspect(src.file, f.visit)
		sort.SliceStable(f.sites, func(i, j int) bool { return f.sites[i].Offset < f.sites[j].Offset })
		sites = append(sites, f.sites...)
	}
	return sites
}

// finder walks one file, collecting sites and skipping what is excluded (doc.go says why).
type finder struct {
	fset  *token.FileSet
	info  *types.Info
	src   source
	sites []Site
}

func (f *finder) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.FuncDecl:
		return !rendersText(n)
	case *ast.GenDecl:
		return n.Tok != token.CONST
	case *ast.ArrayType:
		return false
	case *ast.CallExpr:
		return !isCheck(n) && !f.formats(n)
	case *ast.IfStmt:
		return f.visitIf(n)
	case *ast.CaseClause:
		if checkOnly(n.Body) {
			return false // a case that only panics: its expressions guard a panic
		}
	case *ast.ForStmt:
		return !checkOnly(n.Body.List)
	case *ast.RangeStmt:
		return !checkOnly(n.Body.List)
	case *ast.BinaryExpr:
		if bugGuarded(n) {
			return false
		}
		f.binary(n)
	case *ast.UnaryExpr:
		if n.Op == token.NOT {
			f.add(n.OpPos, "!", "", kindLogical)
		}
	}
	return true
}

// visitIf skips a condition that guards only a panic or an assertion, and the condition and
// body of a deliberate bug's guard (false unless --bug is given, so its body never runs in
// a measurement). It walks the init and the else branch itself: they run as usual.
func (f *finder) visitIf(n *ast.IfStmt) bool {
	if !checkOnly(n.Body.List) && !bugGuarded(n.Cond) {
		return true
	}
	if n.Init != nil {
		ast.Inspect(n.Init, f.visit)
	}
	if n.Else != nil {
		ast.Inspect(n.Else, f.visit)
	}
	return false
}

// binary adds the sites of one binary expression's operator and its literal operands.
func (f *finder) binary(n *ast.BinaryExpr) {
	switch {
	case relationalNeighbours[n.Op] != nil:
		for _, to := range relationalNeighbours[n.Op] {
			f.add(n.OpPos, n.Op.String(), to.String(), kindRelational)
		}
	case n.Op == token.LAND:
		f.add(n.OpPos, "&&", "||", kindLogical)
	case n.Op == token.LOR:
		f.add(n.OpPos, "||", "&&", kindLogical)
	case (n.Op == token.ADD || n.Op == token.SUB) && f.isInteger(n):
		swapped := map[token.Token]string{token.ADD: "-", token.SUB: "+"}[n.Op]
		f.add(n.OpPos, n.Op.String(), swapped, kindOffByOne)
	}
	if !arithmeticOrComparison(n.Op) {
		return // shifts and masks: a literal there is a bit position or a field, not a count
	}
	for _, operand := range []ast.Expr{n.X, n.Y} {
		if lit, ok := ast.Unparen(operand).(*ast.BasicLit); ok && lit.Kind == token.INT {
			f.literal(lit)
		}
	}
}

// literal adds k→k+1 and k→k−1 (not below zero: most counts here are unsigned).
func (f *finder) literal(lit *ast.BasicLit) {
	k, err := strconv.ParseUint(lit.Value, 0, 64)
	if err != nil || k == ^uint64(0) {
		return
	}
	f.add(lit.Pos(), lit.Value, formatLike(lit.Value, k+1), kindOffByOne)
	if k > 0 {
		f.add(lit.Pos(), lit.Value, formatLike(lit.Value, k-1), kindOffByOne)
	}
}

// formatLike writes k in the base the original literal used, so the line still reads alike.
func formatLike(original string, k uint64) string {
	if strings.HasPrefix(original, "0x") || strings.HasPrefix(original, "0X") {
		return "0x" + strconv.FormatUint(k, 16)
	}
	return strconv.FormatUint(k, 10)
}

func (f *finder) isInteger(e ast.Expr) bool {
	t := f.info.TypeOf(e)
	if t == nil {
		return false
	}
	basic, ok := t.Underlying().(*types.Basic)
	return ok && basic.Info()&types.IsInteger != 0
}

func (f *finder) add(pos token.Pos, old, new, kind string) {
	p := f.fset.Position(pos)
	if string(f.src.data[p.Offset:p.Offset+len(old)]) != old {
		panic(fmt.Sprintf("mutate: %s: token %q is not at offset %d", p, old, p.Offset))
	}
	code, at := lineAt(f.src.data, p.Offset)
	f.sites = append(f.sites, Site{File: f.src.name, Line: p.Line, Col: p.Column, Offset: p.Offset,
		Old: old, New: new, Kind: kind, Code: code, at: at})
}

// formats reports whether a call only builds text: fmt's and errors' functions, and any
// printf-like wrapper (a format string, then ...any). Its arguments render, nothing more.
func (f *finder) formats(call *ast.CallExpr) bool {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			if pkg, ok := f.info.Uses[id].(*types.PkgName); ok {
				path := pkg.Imported().Path()
				return path == "fmt" || path == "errors"
			}
		}
	}
	sig, ok := f.info.TypeOf(call.Fun).(*types.Signature)
	if !ok || !sig.Variadic() || sig.Params().Len() < 2 {
		return false
	}
	params := sig.Params()
	format := params.At(params.Len() - 2).Type()
	rest, ok := params.At(params.Len() - 1).Type().(*types.Slice) // append's may be a string
	return ok && types.Identical(format, types.Typ[types.String]) && types.IsInterface(rest.Elem())
}

// rendersText reports whether a function is a String or Error method: text for people.
func rendersText(fn *ast.FuncDecl) bool {
	if fn.Recv == nil || fn.Type.Params.NumFields() != 0 || fn.Type.Results.NumFields() != 1 {
		return false
	}
	return fn.Name.Name == "String" || fn.Name.Name == "Error"
}

// isCheck reports whether a call panics: panic itself, or an assertion.
func isCheck(call *ast.CallExpr) bool {
	id, ok := call.Fun.(*ast.Ident)
	return ok && (id.Name == "panic" || id.Name == "assert" || id.Name == "assertFailed")
}

// checkOnly reports whether statements do nothing but check: panics, assertions, and ifs
// and loops made only of those. Mutating their conditions changes what is checked, not
// what the replica does; such a mutant either fires the check (killed trivially) or
// silences it (equivalent on correct code).
func checkOnly(stmts []ast.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.ExprStmt:
			call, ok := s.X.(*ast.CallExpr)
			if !ok || !isCheck(call) {
				return false
			}
		case *ast.IfStmt:
			if s.Init != nil || s.Else != nil || !checkOnly(s.Body.List) {
				return false
			}
		case *ast.ForStmt:
			if !checkOnly(s.Body.List) {
				return false
			}
		case *ast.RangeStmt:
			if !checkOnly(s.Body.List) {
				return false
			}
		case *ast.BlockStmt:
			if !checkOnly(s.List) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// bugGuarded reports whether an expression is false unless a deliberate bug is switched
// on: a call of the replica's bug method, or a conjunction with one.
func bugGuarded(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.CallExpr:
		switch fun := e.Fun.(type) {
		case *ast.SelectorExpr:
			return fun.Sel.Name == "bug"
		case *ast.Ident:
			return fun.Name == "bug"
		}
	case *ast.BinaryExpr:
		return e.Op == token.LAND && (bugGuarded(e.X) || bugGuarded(e.Y))
	}
	return false
}

func arithmeticOrComparison(op token.Token) bool {
	switch op {
	case token.ADD, token.SUB, token.MUL, token.QUO, token.REM,
		token.LSS, token.LEQ, token.GTR, token.GEQ, token.EQL, token.NEQ:
		return true
	}
	return false
}

// lineAt returns the line holding offset without its indentation or trailing space, and
// offset's index in it.
func lineAt(data []byte, offset int) (string, int) {
	start := bytes.LastIndexByte(data[:offset], '\n') + 1
	end := bytes.IndexByte(data[offset:], '\n')
	if end < 0 {
		end = len(data) - offset
	}
	line := data[start : offset+end]
	trimmed := bytes.TrimLeft(line, " \t")
	return string(bytes.TrimRight(trimmed, " \t\r")), offset - start - (len(line) - len(trimmed))
}

// excerpt shows at most width runes of a site's line, keeping its token in view.
func (s Site) excerpt(width int) string {
	runes := []rune(s.Code)
	if len(runes) <= width {
		return s.Code
	}
	at := len([]rune(s.Code[:min(s.at, len(s.Code))]))
	from := min(max(at-width/2, 0), len(runes)-width)
	text := string(runes[from : from+width])
	if from > 0 {
		text = "…" + string(runes[from+1:from+width])
	}
	if from+width < len(runes) {
		text = string([]rune(text)[:width-1]) + "…"
	}
	return text
}

// sample draws n sites without replacement, deterministically for a seed and a site list,
// and returns them in file order.
func sample(sites []Site, n int, seed uint64) []Site {
	r := rand.New(rand.NewPCG(seed, 0x6d757461746521)) // a fixed second word: "mutate!"
	picked := r.Perm(len(sites))[:min(n, len(sites))]
	sort.Ints(picked)
	out := make([]Site, len(picked))
	for i, k := range picked {
		out[i] = sites[k]
	}
	return out
}

// selectSites returns the sites each reference names: a whole id (file:line:col:old→new,
// "->" accepted for "→"), or file:line or file:line:col for every site there.
func selectSites(sites []Site, refs []string) ([]Site, error) {
	var out []Site
	seen := map[string]bool{}
	for _, ref := range refs {
		ref = strings.ReplaceAll(strings.TrimSpace(ref), "->", "→")
		found := false
		for _, s := range sites {
			id := s.ID()
			if id == ref || strings.HasPrefix(id, ref+":") {
				found = true
				if !seen[id] {
					seen[id] = true
					out = append(out, s)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("--sites: no mutation site %q (--list shows them)", ref)
		}
	}
	return out, nil
}
