package main

import (
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fixtureSites enumerates testdata/fixture, whose lines say which sites they hold.
func fixtureSites(t *testing.T) ([]Site, []byte) {
	t.Helper()
	fset, info, sources, err := loadPackage(filepath.Join("testdata", "fixture"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 {
		t.Fatalf("fixture: %d files, want 1", len(sources))
	}
	return enumerate(fset, info, sources), sources[0].data
}

// TestEnumerateFixture checks every line of the fixture: the sites a line holds are exactly
// those its "want:" comment lists, so the operators are found and the exclusions (panic
// guards, assert arguments, bug guards, fmt arguments, String methods, constants, array
// lengths, shifts, string concatenation) hold none.
func TestEnumerateFixture(t *testing.T) {
	sites, data := fixtureSites(t)
	got := map[int][]string{}
	for _, s := range sites {
		if s.File != "fixture.go" {
			t.Fatalf("site %s in another file", s.ID())
		}
		got[s.Line] = append(got[s.Line], s.Old+"→"+s.New)
	}
	for i, line := range strings.Split(string(data), "\n") {
		var want []string
		if _, list, ok := strings.Cut(line, "// want: "); ok {
			want = strings.Fields(list)
		}
		have := got[i+1]
		sort.Strings(want)
		sort.Strings(have)
		if !slices.Equal(have, want) {
			t.Errorf("fixture.go:%d: sites %v, want %v\n\t%s", i+1, have, want, strings.TrimSpace(line))
		}
	}
}

// TestApplyChangesOneToken applies every fixture site: the result parses, and its tokens
// differ from the original's in exactly one place (one replaced, or one `!` removed).
func TestApplyChangesOneToken(t *testing.T) {
	sites, data := fixtureSites(t)
	original := tokens(t, data)
	for _, s := range sites {
		mutated, err := apply(data, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "m.go", mutated, 0); err != nil {
			t.Errorf("%s: does not parse: %v", s.ID(), err)
			continue
		}
		changed := tokens(t, mutated)
		if d := tokenDiff(original, changed); d != 1 {
			t.Errorf("%s: %d tokens differ, want 1", s.ID(), d)
		}
		if line := mutatedLine(data, s); !strings.Contains(line, s.New) || line == s.Code {
			t.Errorf("%s: mutated line %q", s.ID(), line)
		}
	}
}

func tokens(t *testing.T, src []byte) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("f.go", -1, len(src)), src, nil, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		out = append(out, tok.String()+" "+lit)
	}
}

// tokenDiff counts the places two token lists differ, for lists of equal length or one
// shorter by a single token.
func tokenDiff(a, b []string) int {
	if len(a) == len(b) {
		d := 0
		for i := range a {
			if a[i] != b[i] {
				d++
			}
		}
		return d
	}
	if len(a) != len(b)+1 {
		return -1
	}
	for i := range a {
		if i == len(b) || a[i] != b[i] {
			if slices.Equal(a[i+1:], b[i:]) {
				return 1
			}
			return -1
		}
	}
	return -1
}

func TestSampleIsDeterministic(t *testing.T) {
	sites, _ := fixtureSites(t)
	ids := func(s []Site) []string {
		var out []string
		for _, site := range s {
			out = append(out, site.ID())
		}
		return out
	}
	a, b := ids(sample(sites, 5, 7)), ids(sample(sites, 5, 7))
	if len(a) != 5 || !slices.Equal(a, b) {
		t.Fatalf("seed 7 drew %v, then %v", a, b)
	}
	if slices.Equal(a, ids(sample(sites, 5, 8))) {
		t.Errorf("seeds 7 and 8 drew the same sites %v", a)
	}
	if all := sample(sites, len(sites)+10, 7); len(all) != len(sites) {
		t.Errorf("drawing more than there are: %d sites, want %d", len(all), len(sites))
	}
	order := sample(sites, 8, 3)
	if !sort.SliceIsSorted(order, func(i, j int) bool { return order[i].Offset < order[j].Offset }) {
		t.Errorf("the draw is not in file order: %v", ids(order))
	}
}

func TestSelectSites(t *testing.T) {
	sites, _ := fixtureSites(t)
	line, err := selectSites(sites, []string{"fixture.go:28"})
	if err != nil || len(line) != 4 {
		t.Fatalf("fixture.go:28: %d sites, %v; want 4", len(line), err)
	}
	id := line[0].ID()
	ascii := strings.Replace(id, "→", "->", 1)
	if one, err := selectSites(sites, []string{ascii, id}); err != nil || len(one) != 1 {
		t.Errorf("%s: %d sites, %v; want 1", ascii, len(one), err)
	}
	for _, bad := range []string{"fixture.go:2", "nosuch.go:28", "fixture.go:28:9:<→>"} {
		if _, err := selectSites(sites, []string{bad}); err == nil {
			t.Errorf("%s: selected, want an error", bad)
		}
	}
}

// TestLoadHidesFilesTheSnapshotLacks: a file that appeared in the working tree after the
// snapshot (here, one that breaks the type check) is hidden when the package is loaded
// from the snapshot, as every build of the run hides it.
func TestLoadHidesFilesTheSnapshotLacks(t *testing.T) {
	dir := t.TempDir()
	good := []byte("package fixture\n\nfunc f(a, b int) bool { return a < b }\n")
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte("module fixture\n\ngo 1.22\n"))
	write("a.go", good)
	write("new.go", []byte("package fixture\n\nvar broken = undefinedName\n"))
	if _, _, _, err := loadPackage(dir, nil); err == nil {
		t.Fatal("the working tree, new.go included, type-checks: the test shows nothing")
	}
	_, _, sources, err := loadPackage(dir, map[string][]byte{"a.go": good})
	if err != nil {
		t.Fatalf("the snapshot without new.go: %v", err)
	}
	if len(sources) != 1 || sources[0].name != "a.go" {
		t.Fatalf("sources %v, want a.go alone", sources)
	}
}
