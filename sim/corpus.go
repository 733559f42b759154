package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// CorpusEntry is one file of the regression corpus (seeds/): an input that once found a bug
// (or proves a scenario), the verdict it must give, and a note of what it caught.
type CorpusEntry struct {
	Seed    string            `json:"seed"`              // decimal or 40-hex; or a label when Entropy is set
	Profile string            `json:"profile,omitempty"` // default swarm
	Options map[string]string `json:"options,omitempty"` // knobs that differ from the seed's draws
	Entropy string            `json:"entropy,omitempty"` // base64 choice stream that replaces the seed's streams
	Stream  string            `json:"stream,omitempty"`  // how Entropy stands in: bytes (default) or steer (sim/streams.go)
	Bugs    string            `json:"bugs,omitempty"`    // deliberate defects (core.Bug names): the checkers must catch them
	Expect  string            `json:"expect"`            // the verdict the entry must give
	Failure string            `json:"failure,omitempty"` // for a failing verdict: text the failure must contain
	Found   string            `json:"found,omitempty"`   // when, how and where it was found
	Note    string            `json:"note,omitempty"`    // one line: the bug it caught

	Path string `json:"-"`
}

// ReadCorpusEntry reads and validates one entry. Every problem is an error naming the file.
func ReadCorpusEntry(path string) (CorpusEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CorpusEntry{}, err
	}
	var e CorpusEntry
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&e); err != nil {
		return CorpusEntry{}, fmt.Errorf("%s: not a corpus entry: %v", path, err)
	}
	if decoder.More() {
		return CorpusEntry{}, fmt.Errorf("%s: more than one JSON value", path)
	}
	e.Path = path
	if _, err := e.RunConfig(); err != nil {
		return CorpusEntry{}, fmt.Errorf("%s: %v", path, err)
	}
	return e, nil
}

// RunConfig turns the entry into the run it describes, validating every field.
func (e *CorpusEntry) RunConfig() (RunConfig, error) {
	config := RunConfig{Seed: e.Seed}
	if _, err := ParseVerdict(e.Expect); err != nil {
		return config, fmt.Errorf("expect: %v", err)
	}
	profile := e.Profile
	if profile == "" {
		profile = "swarm"
	}
	var err error
	if config.Profile, err = ParseProfile(profile); err != nil {
		return config, err
	}
	if config.Bugs, err = core.ParseBugs(e.Bugs); err != nil {
		return config, err
	}
	if config.EntropyMode, err = entropy.ParseMode(e.Stream); err != nil {
		return config, fmt.Errorf("stream: %v", err)
	}
	if e.Entropy != "" {
		if config.Entropy, err = base64.StdEncoding.DecodeString(e.Entropy); err != nil {
			return config, fmt.Errorf("entropy: %v", err)
		}
	} else if _, err := entropy.ParseSeed(e.Seed); err != nil {
		return config, err
	}
	names := make([]string, 0, len(e.Options))
	// map order: the names are sorted before they are used.
	for name := range e.Options {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		config.Overrides = append(config.Overrides, Override{Name: name, Value: e.Options[name]})
	}
	if _, _, err := Prepare(config); err != nil {
		return config, err
	}
	return config, nil
}

// Matches reports whether a result is what the entry expects.
func (e *CorpusEntry) Matches(r *Result) bool {
	return r.Verdict.String() == e.Expect && (e.Failure == "" || strings.Contains(r.Failure, e.Failure))
}

// CorpusFiles expands paths (files or directories) into the entries' files, sorted.
func CorpusFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		files = append(files, matches...)
	}
	return files, nil
}

// WriteCorpusEntry writes an entry as a new file; it never replaces one.
func WriteCorpusEntry(path string, e *CorpusEntry) error {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
