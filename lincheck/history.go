package lincheck

import (
	"bytes"
	"fmt"
	"os"
	"unicode/utf8"
)

// Format names the file format a history was read from.
type Format string

// The history formats ReadHistory recognises, by content rather than by file name.
const (
	// FormatVSRSim is vsrsim's own JSON history, written by WriteHistoryJSON.
	FormatVSRSim Format = "vsrsim-history/1"
	// FormatJepsenEtcd is a Jepsen etcd register log: "INFO  jepsen.util - 3 :invoke :read nil".
	FormatJepsenEtcd Format = "jepsen-etcd"
	// FormatEDN is a key-value log with one EDN map per line, as in Porcupine's test data.
	FormatEDN Format = "edn-kv"
)

// ModelKind names the sequential specification a history is checked against.
type ModelKind string

// The models: the key-value store (KVStep) and Jepsen's single integer register
// (RegisterStep).
const (
	ModelKV       ModelKind = "kv"
	ModelRegister ModelKind = "register"
)

// ParseModelKind accepts the names --model takes.
func ParseModelKind(name string) (ModelKind, error) {
	switch ModelKind(name) {
	case ModelKV, ModelRegister:
		return ModelKind(name), nil
	}
	return "", fmt.Errorf("unknown model %q (want kv or register)", name)
}

// History is a client history: every operation a client invoked, when, and what it heard
// back. Histories from every format are brought to this one shape, so the checker needs no
// knowledge of where a history came from. Register histories use the key-value shape too:
// one key (""), values written as decimal integers, and "" for the register's nil.
type History struct {
	Format Format
	// Model is the model the format implies: register for etcd logs, kv otherwise.
	Model ModelKind
	// TimeUnit says what Invoke and Response count: "tick" in vsrsim histories, "line" in
	// the log formats, which carry no clock and are ordered by their lines instead.
	TimeUnit   string
	Operations []Operation
}

// Operation is one client call. Invoke and Response are closed-interval bounds: two
// operations whose intervals share a single instant are concurrent.
type Operation struct {
	Client int
	Invoke int64
	// Response is meaningless when Pending: the client never heard back, so the operation
	// may have taken effect at any instant after Invoke, or never.
	Response int64
	Pending  bool
	Input    KVInput
	// Output is what the client heard back; zero when Pending.
	Output KVOutput
	// OpNumber is the op number the reply carried, 0 when unknown.
	OpNumber uint64
}

// Times are kept within ±timeLimit so that the checker can add two of them and still have
// room for a sentinel meaning "never answered".
const timeLimit = int64(1) << 60

// ParseError is a malformed history: it names the file and the line, so that a user can go
// and look. Line is 0 when the problem is the file as a whole.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func parseErrorf(file string, line int, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ReadHistory reads a history file in any of the known formats.
func ReadHistory(path string) (*History, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHistory(path, data)
}

// ParseHistory parses a history, recognising its format from its first bytes. name is only
// used in error messages.
func ParseHistory(name string, data []byte) (*History, error) {
	format, err := detectFormat(name, data)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatVSRSim:
		return parseVSRSimJSON(name, data)
	case FormatJepsenEtcd:
		return parseJepsenEtcd(name, data)
	default:
		return parseEDN(name, data)
	}
}

// detectFormat looks at the first non-blank line: a JSON object, an EDN map ("{:"), or a
// Jepsen log line. Anything else, including binary data and an empty file, is rejected
// here with a message that says which formats were expected.
func detectFormat(name string, data []byte) (Format, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return "", parseErrorf(name, lineAt(data, i), "binary data (a NUL byte), not a history")
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return "", parseErrorf(name, 0, "empty file, not a history")
	}
	line := lineAt(data, len(data)-len(trimmed))
	if !utf8.Valid(firstLine(trimmed)) {
		return "", parseErrorf(name, line, "binary data (invalid UTF-8), not a history")
	}
	if trimmed[0] == '{' {
		rest := bytes.TrimLeft(trimmed[1:], " \t\r\n,")
		if len(rest) > 0 && rest[0] == ':' {
			return FormatEDN, nil
		}
		return FormatVSRSim, nil
	}
	if bytes.Contains(firstLine(trimmed), []byte("jepsen.util")) {
		return FormatJepsenEtcd, nil
	}
	return "", parseErrorf(name, line,
		"unrecognised history format (want vsrsim JSON, a Jepsen etcd log or an EDN key-value log)")
}

// lineAt returns the 1-based line number of byte offset off.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

func firstLine(data []byte) []byte {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i]
	}
	return data
}

// splitLines calls fn for every line that is not blank, with its 1-based number. A carriage
// return before the newline is dropped, so files written on Windows read the same.
func splitLines(name string, data []byte, fn func(line int, text string) error) error {
	for n := 1; len(data) > 0; n++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		text = bytes.TrimRight(text, " \t\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if !utf8.Valid(text) {
			return parseErrorf(name, n, "binary data (invalid UTF-8), not a history")
		}
		if err := fn(n, string(text)); err != nil {
			return err
		}
	}
	return nil
}

// checkTime rejects a time that the checker cannot do arithmetic on.
func checkTime(t int64) bool { return t > -timeLimit && t < timeLimit }
