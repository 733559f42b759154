package lincheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// opJSON is one operation of a vsrsim JSON history. Pointers tell a missing field from a
// zero one; response is raw so that a missing response (an error) differs from null
// (pending). The field order is the order WriteHistoryJSON prints.
type opJSON struct {
	Client   *int            `json:"client"`
	Invoke   *int64          `json:"invoke"`
	Response json.RawMessage `json:"response"`
	F        string          `json:"f"`
	Key      *string         `json:"key"`
	Expected *string         `json:"expected,omitempty"`
	Value    *string         `json:"value,omitempty"`
	Output   *string         `json:"output,omitempty"`
	Swapped  *bool           `json:"swapped,omitempty"`
	Op       uint64          `json:"op,omitempty"`
}

// WriteHistoryJSON writes h in vsrsim's own format, one operation per line so that the file
// diffs and greps well:
//
//	{"format": "vsrsim-history/1", "model": "kv", "operations": [
//	 {"client": 3, "invoke": 120, "response": 180, "f": "put", "key": "k1", "value": "c3.7", "op": 57},
//	 {"client": 6, "invoke": 140, "response": null, "f": "append", "key": "k2", "value": "c6.1"}
//	]}
//
// ReadHistory reads it back to an equal History.
func WriteHistoryJSON(w io.Writer, h *History) error {
	model := h.Model
	if model == "" {
		model = ModelKV
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\"format\": %q, \"model\": %q, \"operations\": [", FormatVSRSim, model)
	for i, o := range h.Operations {
		line, err := json.Marshal(toJSON(o))
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n ")
		bw.Write(spaceJSON(line))
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// spaceJSON adds a space after the colons and commas that separate fields, to match the
// documented layout; it leaves the insides of strings alone.
func spaceJSON(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		out = append(out, c)
		switch {
		case inString && c == '\\':
			i++
			out = append(out, b[i])
		case c == '"':
			inString = !inString
		case !inString && (c == ':' || c == ','):
			out = append(out, ' ')
		}
	}
	return out
}

func toJSON(o Operation) opJSON {
	client, invoke, key := o.Client, o.Invoke, o.Input.Key
	j := opJSON{Client: &client, Invoke: &invoke, F: o.Input.Op.String(), Key: &key, Op: o.OpNumber}
	j.Response = json.RawMessage("null")
	if !o.Pending {
		j.Response = strconv.AppendInt(nil, o.Response, 10)
	}
	in, out := o.Input, o.Output
	if in.Op == OpCAS {
		j.Expected = &in.Expected
	}
	if in.Op != OpGet {
		j.Value = &in.Value
	}
	if !o.Pending && in.Op == OpGet {
		j.Output = &out.Value
	}
	if !o.Pending && in.Op == OpCAS {
		j.Swapped = &out.Swapped
	}
	return j
}

// parseVSRSimJSON reads the JSON format, streaming the operations so that an error names
// the line of the operation at fault.
func parseVSRSimJSON(name string, data []byte) (*History, error) {
	p := &jsonParser{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.DisallowUnknownFields()
	h, err := p.history()
	if err != nil {
		return nil, p.wrap(err)
	}
	return h, nil
}

type jsonParser struct {
	name string
	data []byte
	dec  *json.Decoder
	line int // line of the element being read, for errors that carry no offset
	// lineOff is the offset p.line was counted to, so that counting lines stays linear
	// in the size of the file as the elements go by.
	lineOff int
}

// lineTo returns the line of offset off, counting on from the last call when it can.
func (p *jsonParser) lineTo(off int) int {
	if off < p.lineOff || p.line == 0 {
		p.line, p.lineOff = 1, 0
	}
	off = min(off, len(p.data))
	p.line += bytes.Count(p.data[p.lineOff:off], []byte{'\n'})
	p.lineOff = off
	return p.line
}

// wrap turns a decoding error into a ParseError naming the line.
func (p *jsonParser) wrap(err error) error {
	var pe *ParseError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return parseErrorf(p.name, lineAt(p.data, len(p.data)), "unexpected end of file: truncated JSON history")
	case errors.As(err, &syn):
		return parseErrorf(p.name, lineAt(p.data, int(syn.Offset)), "invalid JSON: %v", syn)
	case errors.As(err, &typ):
		// The offset of a type error counts from the start of the element, not of the file.
		return parseErrorf(p.name, p.line, "field %q: want %v, not a JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return parseErrorf(p.name, p.line, "%v", err)
}

func (p *jsonParser) delim(want json.Delim) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return parseErrorf(p.name, lineAt(p.data, int(p.dec.InputOffset())), "want %q, found %s", want, clip(fmt.Sprint(tok)))
	}
	return nil
}

// history reads the top-level object: format, model and operations, in any order.
func (p *jsonParser) history() (*History, error) {
	if err := p.delim('{'); err != nil {
		return nil, err
	}
	h := &History{TimeUnit: "tick"}
	var format, model string
	var sawOps bool
	for p.dec.More() {
		p.lineTo(int(p.dec.InputOffset()))
		tok, err := p.dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case "format":
			err = p.dec.Decode(&format)
		case "model":
			err = p.dec.Decode(&model)
		case "operations":
			sawOps = true
			h.Operations, err = p.operations()
		default:
			err = parseErrorf(p.name, p.line, "unknown field %s", clip(fmt.Sprint(tok)))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return h, p.header(h, format, model, sawOps)
}

// end checks the closing brace and that nothing follows it.
func (p *jsonParser) end() error {
	if err := p.delim('}'); err != nil {
		return err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return parseErrorf(p.name, lineAt(p.data, int(p.dec.InputOffset())), "data after the end of the history")
	}
	return nil
}

func (p *jsonParser) header(h *History, format, model string, sawOps bool) error {
	if format != string(FormatVSRSim) {
		return parseErrorf(p.name, 1, "format %q is not %q", format, FormatVSRSim)
	}
	m, err := ParseModelKind(model)
	if err != nil {
		return parseErrorf(p.name, 1, "%v", err)
	}
	if !sawOps {
		return parseErrorf(p.name, 1, "no \"operations\" list")
	}
	h.Format, h.Model = FormatVSRSim, m
	return nil
}

// operations reads the array of operations one element at a time.
func (p *jsonParser) operations() ([]Operation, error) {
	if err := p.delim('['); err != nil {
		return nil, err
	}
	var ops []Operation
	for p.dec.More() {
		p.lineTo(p.elementStart())
		var j opJSON
		if err := p.dec.Decode(&j); err != nil {
			return nil, err
		}
		o, err := fromJSON(j)
		if err != nil {
			return nil, parseErrorf(p.name, p.line, "%v", err)
		}
		ops = append(ops, o)
	}
	return ops, p.delim(']')
}

// elementStart skips the separators after the decoder's offset to find where the next
// element really starts.
func (p *jsonParser) elementStart() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) && bytes.IndexByte([]byte(" \t\r\n,"), p.data[off]) >= 0 {
		off++
	}
	return off
}

// fromJSON validates one operation: the fields its kind needs must be there, and those it
// cannot have must not be, so an exporter's mistake is caught rather than checked.
func fromJSON(j opJSON) (Operation, error) {
	op, ok := ParseKVOp(j.F)
	if !ok {
		return Operation{}, fmt.Errorf("unknown operation %q (want get, put, append or cas)", j.F)
	}
	if j.Client == nil || j.Invoke == nil || j.Key == nil || j.Response == nil {
		return Operation{}, fmt.Errorf("a %s needs client, invoke, response and key", op)
	}
	if *j.Client < 0 {
		return Operation{}, fmt.Errorf("negative client %d", *j.Client)
	}
	o := Operation{Client: *j.Client, Invoke: *j.Invoke, Input: KVInput{Op: op, Key: *j.Key}, OpNumber: j.Op}
	if !checkTime(o.Invoke) {
		return Operation{}, fmt.Errorf("invoke %d out of range", o.Invoke)
	}
	if string(j.Response) == "null" {
		o.Pending = true
	} else if err := json.Unmarshal(j.Response, &o.Response); err != nil || !checkTime(o.Response) {
		return Operation{}, fmt.Errorf("response %s is neither a tick nor null", clip(string(j.Response)))
	} else if o.Response < o.Invoke {
		return Operation{}, fmt.Errorf("response %d comes before invoke %d", o.Response, o.Invoke)
	}
	if err := checkFields(op, o.Pending, j); err != nil {
		return Operation{}, err
	}
	if j.Value != nil {
		o.Input.Value = *j.Value
	}
	if j.Expected != nil {
		o.Input.Expected = *j.Expected
	}
	if j.Output != nil {
		o.Output.Value = *j.Output
	}
	if j.Swapped != nil {
		o.Output.Swapped = *j.Swapped
	}
	return o, nil
}

// checkFields says which of value, expected, output and swapped an operation must have.
func checkFields(op KVOp, pending bool, j opJSON) error {
	fields := []struct {
		name    string
		present bool
		needed  bool
	}{
		{"value", j.Value != nil, op != OpGet},
		{"expected", j.Expected != nil, op == OpCAS},
		{"output", j.Output != nil, op == OpGet && !pending},
		{"swapped", j.Swapped != nil, op == OpCAS && !pending},
	}
	what := op.String()
	if pending {
		what = "pending " + what
	}
	for _, f := range fields {
		if f.present && !f.needed {
			return fmt.Errorf("a %s has no %q", what, f.name)
		}
		if !f.present && f.needed {
			return fmt.Errorf("a %s needs %q", what, f.name)
		}
	}
	return nil
}
