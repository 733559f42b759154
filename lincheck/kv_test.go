package lincheck

import "testing"

func TestKVStep(t *testing.T) {
	cases := []struct {
		state string
		in    KVInput
		next  string
		out   KVOutput
	}{
		{"", KVInput{Op: OpGet, Key: "k"}, "", KVOutput{}},
		{"a", KVInput{Op: OpGet, Key: "k"}, "a", KVOutput{Value: "a"}},
		{"a", KVInput{Op: OpPut, Key: "k", Value: "b"}, "b", KVOutput{}},
		{"a", KVInput{Op: OpAppend, Key: "k", Value: "b"}, "ab", KVOutput{}},
		{"", KVInput{Op: OpAppend, Key: "k", Value: "b"}, "b", KVOutput{}},
		{"a", KVInput{Op: OpCAS, Key: "k", Expected: "a", Value: "c"}, "c", KVOutput{Swapped: true}},
		{"a", KVInput{Op: OpCAS, Key: "k", Expected: "b", Value: "c"}, "a", KVOutput{}},
		{"", KVInput{Op: OpCAS, Key: "k", Expected: "", Value: "c"}, "c", KVOutput{Swapped: true}},
	}
	for _, c := range cases {
		next, out := KVStep(c.state, c.in)
		if next != c.next || out != c.out {
			t.Errorf("KVStep(%q, %+v) = %q, %+v; want %q, %+v", c.state, c.in, next, out, c.next, c.out)
		}
	}
}

func TestKVModelStep(t *testing.T) {
	m := KVModel()
	get := KVInput{Op: OpGet, Key: "k"}
	if ok, _ := m.Step("a", get, KVOutput{Value: "b"}); ok {
		t.Error("a get of b accepted in state a")
	}
	if ok, _ := m.Step("a", get, nil); !ok {
		t.Error("a pending get refused")
	}
	cas := KVInput{Op: OpCAS, Key: "k", Expected: "a", Value: "c"}
	if ok, next := m.Step("a", cas, nil); !ok || next != "c" {
		t.Errorf("a pending cas in its expected state: %v, %v", ok, next)
	}
	if ok, _ := m.Step("a", cas, KVOutput{Swapped: false}); ok {
		t.Error("a cas that did not swap accepted in its expected state")
	}
}

func TestRegisterStep(t *testing.T) {
	empty := RegisterState{}
	if _, out := RegisterStep(empty, RegisterInput{Op: OpGet}); out.Present {
		t.Error("a fresh register reads as present")
	}
	if _, out := RegisterStep(empty, RegisterInput{Op: OpCAS, Expected: 0, Value: 1}); out.Swapped {
		t.Error("a cas from 0 swapped a nil register")
	}
	s, _ := RegisterStep(empty, RegisterInput{Op: OpPut, Value: 3})
	s, out := RegisterStep(s, RegisterInput{Op: OpCAS, Expected: 3, Value: 4})
	if !out.Swapped || s != (RegisterState{Value: 4, Present: true}) {
		t.Errorf("cas 3->4 on 3: %+v, %+v", s, out)
	}
	m := RegisterModel()
	if ok, _ := m.Step(s, RegisterInput{Op: OpGet}, RegisterOutput{Value: 4, Present: true}); !ok {
		t.Error("reading 4 from 4 refused")
	}
	if ok, _ := m.Step(empty, RegisterInput{Op: OpGet}, RegisterOutput{Value: 0, Present: true}); ok {
		t.Error("reading 0 from nil accepted")
	}
}
