package lincheck

import (
	"fmt"
	"strconv"
	"strings"
)

// ednValue is one value of the small subset of EDN the key-value logs use: a keyword
// (":ok", kept with its colon), a string, an integer, or nil.
type ednValue struct {
	kind byte // ':' keyword, '"' string, '0' integer, 'n' nil
	text string
}

// parseEDNMap parses one line holding a flat EDN map such as
// {:process 0, :type :invoke, :f :get, :key "5", :value nil}. Commas are whitespace in EDN.
func parseEDNMap(text string) (map[string]ednValue, error) {
	s := strings.TrimSpace(text)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("not an EDN map: %s", clip(text))
	}
	s = s[1 : len(s)-1]
	m := make(map[string]ednValue)
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return m, nil
		}
		key, rest, err := ednToken(s)
		if err != nil {
			return nil, err
		}
		if key.kind != ':' {
			return nil, fmt.Errorf("EDN map key %s is not a keyword", clip(key.text))
		}
		val, rest2, err := ednToken(strings.TrimLeft(rest, " \t,"))
		if err != nil {
			return nil, fmt.Errorf("value of %s: %v", clip(key.text), err)
		}
		if _, dup := m[key.text]; dup {
			return nil, fmt.Errorf("key %s appears twice", clip(key.text))
		}
		m[key.text], s = val, rest2
	}
}

// ednToken reads one value from the front of s.
func ednToken(s string) (ednValue, string, error) {
	if s == "" {
		return ednValue{}, "", fmt.Errorf("missing value")
	}
	if s[0] == '"' {
		return ednString(s)
	}
	end := strings.IndexAny(s, " \t,")
	if end < 0 {
		end = len(s)
	}
	word, rest := s[:end], s[end:]
	switch {
	case word == "nil":
		return ednValue{kind: 'n'}, rest, nil
	case len(word) > 1 && word[0] == ':':
		return ednValue{kind: ':', text: word}, rest, nil
	}
	if _, err := strconv.ParseInt(word, 10, 64); err == nil {
		return ednValue{kind: '0', text: word}, rest, nil
	}
	return ednValue{}, "", fmt.Errorf("unsupported EDN value %s", clip(word))
}

var ednEscapes = map[byte]byte{'"': '"', '\\': '\\', 'n': '\n', 't': '\t', 'r': '\r'}

// ednString reads a double-quoted string with EDN's escapes.
func ednString(s string) (ednValue, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return ednValue{kind: '"', text: b.String()}, s[i+1:], nil
		case '\\':
			i++
			if i == len(s) {
				return ednValue{}, "", fmt.Errorf("unterminated string")
			}
			esc, ok := ednEscapes[s[i]]
			if !ok {
				return ednValue{}, "", fmt.Errorf("unknown escape %q in string", "\\"+string(s[i]))
			}
			b.WriteByte(esc)
		default:
			b.WriteByte(c)
		}
	}
	return ednValue{}, "", fmt.Errorf("unterminated string")
}

var ednOps = map[string]KVOp{":get": OpGet, ":put": OpPut, ":append": OpAppend}

var ednTypes = map[string]completion{":ok": completedOK, ":fail": completedFail, ":info": completedInfo}

// parseEDN reads a key-value log: get, put and append on string keys. :fail means the
// operation did not happen and :info that its outcome is unknown, as in Jepsen.
func parseEDN(name string, data []byte) (*History, error) {
	b := newLogBuilder(name)
	err := splitLines(name, data, func(line int, text string) error {
		m, err := parseEDNMap(text)
		if err != nil {
			return parseErrorf(name, line, "%v", err)
		}
		if err := b.ednLine(line, m); err != nil {
			if _, ok := err.(*ParseError); ok {
				return err
			}
			return parseErrorf(name, line, "%v", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &History{Format: FormatEDN, Model: ModelKV, TimeUnit: "line", Operations: b.finish()}, nil
}

// ednLine applies one parsed line to the builder.
func (b *logBuilder) ednLine(line int, m map[string]ednValue) error {
	proc, err := ednInt(m, ":process")
	if err != nil {
		return err
	}
	typ, f := m[":type"], m[":f"]
	op, ok := ednOps[f.text]
	if f.kind != ':' || !ok {
		return fmt.Errorf("unknown operation %s (want :get, :put or :append)", clip(f.text))
	}
	key := m[":key"]
	if key.kind != '"' && key.kind != '0' {
		return fmt.Errorf("missing or non-string :key")
	}
	value := m[":value"]
	if typ.kind == ':' && typ.text == ":invoke" {
		in := KVInput{Op: op, Key: key.text}
		if op != OpGet {
			if value.kind != '"' {
				return fmt.Errorf("%s is invoked without a string :value", op)
			}
			in.Value = value.text
		}
		return b.invoke(line, proc, in)
	}
	how, ok := ednTypes[typ.text]
	if typ.kind != ':' || !ok {
		return fmt.Errorf("unknown :type %s (want :invoke, :ok, :fail or :info)", clip(typ.text))
	}
	o, err := b.pending(line, proc, op)
	if err != nil {
		return err
	}
	if o.Input.Key != key.text {
		return fmt.Errorf("process %d completes on key %q but invoked on key %q", proc, key.text, o.Input.Key)
	}
	var out KVOutput
	if op == OpGet && how == completedOK {
		if value.kind != '"' {
			return fmt.Errorf("a get completes :ok without a string :value")
		}
		out.Value = value.text
	}
	b.complete(line, proc, how, out)
	return nil
}

func ednInt(m map[string]ednValue, key string) (int, error) {
	v, ok := m[key]
	if !ok || v.kind != '0' {
		return 0, fmt.Errorf("missing or non-integer %s", key)
	}
	n, err := strconv.Atoi(v.text)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad %s %s", key, v.text)
	}
	return n, nil
}
