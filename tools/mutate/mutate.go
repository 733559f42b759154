package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// snapshot is every .go file of the module, read once at the start: from the working tree,
// or from a git revision. Every build and test of a run overlays all of them and hides any
// .go file that appeared since, so a run measures one version of the code (the replicas and
// the checkers) even while people edit the working tree under it.
type snapshot struct {
	root  string            // the module's root, absolute
	files map[string][]byte // by slash-separated path relative to root
	saved string            // where writeFiles put the copies the overlays point at
}

// snapshotTree reads the working tree's .go files.
func snapshotTree(root string) (*snapshot, error) {
	sn := &snapshot{root: root, files: map[string][]byte{}}
	paths, err := goFiles(root)
	if err != nil {
		return nil, err
	}
	for _, rel := range paths {
		if sn.files[rel], err = os.ReadFile(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
			return nil, err
		}
	}
	return sn, nil
}

// snapshotRev reads the .go files of a git revision, in one git process.
func snapshotRev(root, rev string) (*snapshot, error) {
	list, err := exec.Command("git", "-C", root, "ls-tree", "-r", "-z", "--name-only", rev).Output()
	if err != nil {
		return nil, fmt.Errorf("--rev %s: not a revision of %s", rev, root)
	}
	var paths []string
	for _, rel := range strings.Split(string(list), "\x00") {
		if strings.HasSuffix(rel, ".go") && !skippedPath(rel) {
			paths = append(paths, rel)
		}
	}
	var request bytes.Buffer
	for _, rel := range paths {
		fmt.Fprintf(&request, "%s:%s\n", rev, rel)
	}
	cmd := exec.Command("git", "-C", root, "cat-file", "--batch")
	cmd.Stdin = &request
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %v", err)
	}
	sn := &snapshot{root: root, files: map[string][]byte{}}
	reader := bufio.NewReader(bytes.NewReader(out))
	for _, rel := range paths {
		header, err := reader.ReadString('\n') // <object> blob <size>
		fields := strings.Fields(header)
		if err != nil || len(fields) != 3 || fields[1] != "blob" {
			return nil, fmt.Errorf("git cat-file: unexpected %q for %s", header, rel)
		}
		size, _ := strconv.Atoi(fields[2])
		data := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(reader, data); err != nil {
			return nil, err
		}
		sn.files[rel] = data[:size]
	}
	return sn, nil
}

// goFiles lists the working tree's .go files, slash-separated, relative to root.
func goFiles(root string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel != "." && skippedPath(rel+"/x.go") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(rel, ".go") {
			paths = append(paths, rel)
		}
		return nil
	})
	return paths, err
}

// skippedPath reports whether the go command ignores a file's directory: testdata, and
// names that start with "." or "_".
func skippedPath(rel string) bool {
	dir := path.Dir(rel)
	if dir == "." {
		return false
	}
	for _, part := range strings.Split(dir, "/") {
		if part == "testdata" || strings.HasPrefix(part, ".") || strings.HasPrefix(part, "_") {
			return true
		}
	}
	return false
}

// pkgFiles are the snapshot's non-test files of one package directory, by base name.
func (sn *snapshot) pkgFiles(pkg string) map[string][]byte {
	files := map[string][]byte{}
	for rel, data := range sn.files {
		if path.Dir(rel) == pkg && !strings.HasSuffix(rel, "_test.go") {
			files[path.Base(rel)] = data
		}
	}
	return files
}

// writeFiles saves the snapshot under tmp, once, for the overlays to point at.
func (sn *snapshot) writeFiles(tmp string) error {
	sn.saved = filepath.Join(tmp, "snapshot")
	for rel, data := range sn.files {
		p := filepath.Join(sn.saved, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeOverlay writes dir/overlay.json for `go build -overlay`: every .go file read from
// the snapshot, those the working tree gained since hidden, and with a site, that site's
// file (in package pkg) mutated and written into dir.
func (sn *snapshot) writeOverlay(dir, pkg string, site *Site) (string, error) {
	replace := map[string]string{}
	for rel := range sn.files {
		replace[filepath.Join(sn.root, rel)] = filepath.Join(sn.saved, filepath.FromSlash(rel))
	}
	current, err := goFiles(sn.root)
	if err != nil {
		return "", err
	}
	for _, rel := range current {
		if _, ok := sn.files[rel]; !ok {
			replace[filepath.Join(sn.root, rel)] = "" // deleted, as far as the build sees
		}
	}
	if site != nil {
		rel := path.Join(pkg, site.File)
		mutated, err := apply(sn.files[rel], *site)
		if err != nil {
			return "", err
		}
		p := filepath.Join(dir, site.File)
		if err := os.WriteFile(p, mutated, 0o644); err != nil {
			return "", err
		}
		replace[filepath.Join(sn.root, rel)] = p
	}
	data, err := json.MarshalIndent(map[string]any{"Replace": replace}, "", "\t") // keys sorted
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, data, 0o644)
}

// apply returns data with the site's token replaced; the rest of the file is untouched.
func apply(data []byte, s Site) ([]byte, error) {
	end := s.Offset + len(s.Old)
	if s.Offset < 0 || end > len(data) || string(data[s.Offset:end]) != s.Old {
		return nil, fmt.Errorf("%s: the file does not hold %q there", s.ID(), s.Old)
	}
	out := make([]byte, 0, len(data)-len(s.Old)+len(s.New))
	out = append(out, data[:s.Offset]...)
	out = append(out, s.New...)
	return append(out, data[end:]...), nil
}

// mutatedLine is the site's line after the mutation, trimmed like Site.Code.
func mutatedLine(data []byte, s Site) string {
	mutated, err := apply(data, s)
	if err != nil {
		return ""
	}
	line, _ := lineAt(mutated, s.Offset)
	return line
}
