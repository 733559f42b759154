package lincheck

import (
	"bufio"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// expectedVerdicts reads expected.tsv: file (relative to publicHistories) -> verdict.
func expectedVerdicts(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join(publicHistories, "expected.tsv"))
	if os.IsNotExist(err) {
		t.Fatal("no public histories at " + publicHistories)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, verdict, ok := strings.Cut(sc.Text(), "\t")
		if ok && file != "file" && verdict != "empty" {
			want[file] = verdict
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestPublicHistoriesJudgedRight(t *testing.T) {
	want := expectedVerdicts(t)
	for file, verdict := range want {
		h, err := ReadHistory(filepath.Join(publicHistories, file))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		res := Check(h, Options{})
		got := strings.ReplaceAll(res.Verdict.String(), " ", "-")
		if got != verdict {
			t.Errorf("%s: %s (by %s), want %s", file, got, res.Method, verdict)
		}
		if res.Verdict == NotLinearizable && len(res.Explanation) < 2 {
			t.Errorf("%s: no explanation: %q", file, res.Explanation)
		}
	}
	if len(want) != 108 {
		t.Errorf("expected.tsv lists %d non-empty histories, want 108", len(want))
	}
}

// porcupineVerdict decides one part with porcupine alone, giving up after limit.
func porcupineVerdict(c *check, p part, limit time.Duration) Verdict {
	switch porcupine.CheckOperationsTimeout(c.porcupineModel(nil), c.porcupineOps(p.ops), limit) {
	case porcupine.Ok:
		return Linearizable
	case porcupine.Illegal:
		return NotLinearizable
	}
	return Unknown
}

// agreement counts how often the fast path decided, and porcupine in time.
type agreement struct{ keys, fastDecided, porcupineDecided int }

// agreeOnParts checks every key of h with the fast path and with porcupine: where both
// decide, they must agree. It returns porcupine's verdict on the whole history, or
// Unknown when porcupine is only asked about the keys the fast path decided (all false).
func agreeOnParts(t *testing.T, name string, h *History, a *agreement, all bool) Verdict {
	t.Helper()
	c, err := newCheck(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole := Linearizable
	for _, p := range c.parts {
		fast := checkFast(p.ops, c.d)
		slow := Unknown
		if all || fast.verdict != Unknown {
			slow = porcupineVerdict(c, p, 2*time.Second)
		}
		a.keys++
		if fast.verdict != Unknown {
			a.fastDecided++
		}
		if slow != Unknown {
			a.porcupineDecided++
		}
		if fast.verdict != Unknown && slow != Unknown && fast.verdict != slow {
			t.Errorf("%s key %q: fast path says %s, porcupine %s; fast path's reason:\n%s",
				name, p.key, fast.verdict, slow, strings.Join(fast.lines, "\n"))
		}
		switch {
		case slow == NotLinearizable:
			whole = NotLinearizable
		case slow == Unknown && whole == Linearizable:
			whole = Unknown
		}
	}
	return whole
}

func TestFastPathAgreesOnPublicHistories(t *testing.T) {
	want := expectedVerdicts(t)
	var a agreement
	for file := range want {
		h, err := ReadHistory(filepath.Join(publicHistories, file))
		if err != nil {
			t.Fatal(err)
		}
		agreeOnParts(t, file, h, &a, false)
	}
	t.Logf("fast path decided %d of %d keys of the public histories", a.fastDecided, a.keys)
}

// TestFastPathAgreesOnGeneratedHistories is the fast path's main guard: on many random
// histories, linearizable by construction or mutated, wherever it gives a verdict it is
// porcupine's, and so is Check's.
func TestFastPathAgreesOnGeneratedHistories(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	configs := []genConfig{
		{clients: 3, keys: 1, ops: 30, pendingPct: 10, casPct: 10, appendPct: 30, putPct: 30},
		{clients: 5, keys: 2, ops: 60, pendingPct: 15, casPct: 25, putPct: 35},
		{clients: 6, keys: 2, ops: 80, pendingPct: 5, appendPct: 60},
		{clients: 8, keys: 3, ops: 100, pendingPct: 10, casPct: 15, appendPct: 25, putPct: 25, maxGap: 20},
		{clients: 4, keys: 1, ops: 50, casPct: 50, putPct: 20},
		{clients: 12, keys: 3, ops: 120, pendingPct: 3, casPct: 10, appendPct: 30, putPct: 30, maxGap: 30},
	}
	const n = 600
	agree := map[string]*agreement{"linearizable": {}, "mutated": {}}
	notLin := 0
	for i := 0; i < n; i++ {
		h, kind := genHistory(rng, configs[(i/2)%len(configs)]), "linearizable"
		if i%2 == 1 {
			h, kind = mutate(rng, h), "mutated"
		}
		whole := agreeOnParts(t, kind, h, agree[kind], true)
		if kind == "linearizable" && whole == NotLinearizable {
			t.Fatalf("generator made a history porcupine calls %s", whole)
		}
		auto := Check(h, Options{Timeout: 2 * time.Second})
		if whole != Unknown && auto.Verdict != Unknown && auto.Verdict != whole {
			t.Fatalf("Check says %s by %s, porcupine alone %s", auto.Verdict, auto.Method, whole)
		}
		if whole == NotLinearizable {
			notLin++
		}
	}
	for kind, a := range agree {
		t.Logf("%s: %d keys, fast path decided %d, porcupine %d", kind, a.keys, a.fastDecided, a.porcupineDecided)
		if a.fastDecided*10 < a.keys*9 {
			t.Errorf("%s: the fast path decided only %d of %d keys", kind, a.fastDecided, a.keys)
		}
	}
	// The mutations must mostly break linearizability, or the test proves little.
	if notLin < n/2*7/10 {
		t.Errorf("only %d of %d mutated histories are not linearizable", notLin, n/2)
	}
}

func TestFixtures(t *testing.T) {
	cases := []struct {
		file    string
		verdict Verdict
		explain []string // substrings of the explanation
	}{
		{"example.json", Linearizable, nil},
		{"stale-read.json", NotLinearizable, []string{`key "k"`, `client 3: get("k") -> "c1.1", ticks 50-60, op 3`}},
		{"pending-cas.log", NotLinearizable, []string{"the register", "process 3: read() -> 1"}},
		{"append.txt", NotLinearizable, []string{`key "a"`, `process 3: get("a") -> "x 1 0 y"`}},
	}
	for _, c := range cases {
		h, err := ReadHistory(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []Strategy{StrategyAuto, StrategyPorcupine, StrategyFastOnly} {
			res := Check(h, Options{Strategy: s})
			if res.Verdict != c.verdict {
				t.Errorf("%s (strategy %d): %s, want %s: %q", c.file, s, res.Verdict, c.verdict, res.Explanation)
			}
			text := strings.Join(res.Explanation, "\n")
			for _, want := range c.explain {
				if !strings.Contains(text, want) {
					t.Errorf("%s (strategy %d): explanation lacks %q:\n%s", c.file, s, want, text)
				}
			}
		}
	}
}

// op builds an operation for hand-written histories; resp < 0 makes it pending.
func op(client int, inv, resp int64, in KVInput, out KVOutput) Operation {
	o := Operation{Client: client, Invoke: inv, Response: resp, Input: in, Output: out}
	if resp < 0 {
		o.Pending, o.Response, o.Output = true, 0, KVOutput{}
	}
	return o
}

func put(k, v string) KVInput      { return KVInput{Op: OpPut, Key: k, Value: v} }
func appendIn(k, v string) KVInput { return KVInput{Op: OpAppend, Key: k, Value: v} }
func get(k string) KVInput         { return KVInput{Op: OpGet, Key: k} }
func cas(k, e, v string) KVInput   { return KVInput{Op: OpCAS, Key: k, Expected: e, Value: v} }
func read(v string) KVOutput       { return KVOutput{Value: v} }
func swapped(s bool) KVOutput      { return KVOutput{Swapped: s} }
func kvHistory(ops ...Operation) *History {
	return &History{Format: FormatVSRSim, Model: ModelKV, TimeUnit: "tick", Operations: ops}
}

// TestPendingOperations: a pending operation may take effect at any time after its
// invocation, or never; what others observed decides which.
func TestPendingOperations(t *testing.T) {
	cases := []struct {
		name string
		h    *History
		want Verdict
	}{
		{"pending put never seen", kvHistory(
			op(1, 1, -1, put("k", "a"), KVOutput{}),
			op(2, 5, 6, get("k"), read(""))), Linearizable},
		{"pending put seen late", kvHistory(
			op(1, 1, -1, put("k", "a"), KVOutput{}),
			op(2, 5, 6, get("k"), read("")),
			op(2, 100, 101, get("k"), read("a"))), Linearizable},
		{"pending put seen, then unseen", kvHistory(
			op(1, 1, -1, put("k", "a"), KVOutput{}),
			op(2, 5, 6, get("k"), read("a")),
			op(2, 7, 8, get("k"), read(""))), NotLinearizable},
		{"pending put before its invocation", kvHistory(
			op(2, 1, 2, get("k"), read("a")),
			op(1, 3, -1, put("k", "a"), KVOutput{})), NotLinearizable},
		{"pending append seen inside a longer value", kvHistory(
			op(1, 1, 2, appendIn("k", "x;"), KVOutput{}),
			op(2, 3, -1, appendIn("k", "y;"), KVOutput{}),
			op(3, 4, 5, appendIn("k", "z;"), KVOutput{}),
			op(4, 6, 7, get("k"), read("x;y;z;"))), Linearizable},
		{"pending append seen out of order", kvHistory(
			op(1, 1, 2, appendIn("k", "x;"), KVOutput{}),
			op(3, 4, 5, appendIn("k", "z;"), KVOutput{}),
			op(2, 6, -1, appendIn("k", "y;"), KVOutput{}),
			op(4, 8, 9, get("k"), read("x;y;z;"))), NotLinearizable},
		{"pending cas seen", kvHistory(
			op(1, 1, 2, put("k", "a"), KVOutput{}),
			op(2, 3, -1, cas("k", "a", "b"), KVOutput{}),
			op(3, 4, 5, get("k"), read("b"))), Linearizable},
		{"pending cas seen, then its old value", kvHistory(
			op(1, 1, 2, put("k", "a"), KVOutput{}),
			op(2, 3, -1, cas("k", "a", "b"), KVOutput{}),
			op(3, 4, 5, get("k"), read("b")),
			op(3, 6, 7, get("k"), read("a"))), NotLinearizable},
		{"pending cas unseen", kvHistory(
			op(1, 1, 2, put("k", "a"), KVOutput{}),
			op(2, 3, -1, cas("k", "a", "b"), KVOutput{}),
			op(3, 4, 5, get("k"), read("a")),
			op(3, 6, 7, cas("k", "a", "c"), swapped(true))), Linearizable},
		{"pending get says nothing", kvHistory(
			op(1, 1, 2, put("k", "a"), KVOutput{}),
			op(2, 3, -1, get("k"), KVOutput{})), Linearizable},
		{"failed cas against the value held", kvHistory(
			op(1, 1, 2, put("k", "a"), KVOutput{}),
			op(2, 3, 4, cas("k", "a", "b"), swapped(false)),
			op(3, 5, 6, get("k"), read("a"))), NotLinearizable},
	}
	for _, c := range cases {
		for _, s := range []Strategy{StrategyAuto, StrategyPorcupine, StrategyFastOnly} {
			res := Check(c.h, Options{Strategy: s})
			if res.Verdict != c.want && !(s == StrategyFastOnly && res.Verdict == Unknown) {
				t.Errorf("%s (strategy %d): %s, want %s\n%s", c.name, s, res.Verdict, c.want, strings.Join(res.Explanation, "\n"))
			}
		}
	}
}

func TestGivesUpAtTheTimeLimit(t *testing.T) {
	h := genHistory(rand.New(rand.NewSource(3)), genConfig{clients: 10, keys: 1, ops: 200, putPct: 50})
	res := Check(h, Options{Strategy: StrategyPorcupine, Timeout: time.Nanosecond})
	if res.Verdict != Unknown || !strings.Contains(strings.Join(res.Explanation, " "), "gave up") {
		t.Errorf("got %s: %q, want unknown with the reason", res.Verdict, res.Explanation)
	}
}

func TestModelMustFit(t *testing.T) {
	h := kvHistory(op(1, 1, 2, appendIn("k", "x"), KVOutput{}))
	if res := Check(h, Options{Model: ModelRegister}); res.Err == nil {
		t.Errorf("an append checked as a register: %s", res.Verdict)
	}
	if res := Check(h, Options{Model: "queue"}); res.Err == nil {
		t.Errorf("an unknown model accepted: %s", res.Verdict)
	}
	reg := kvHistory(op(1, 1, 2, put("", "07"), KVOutput{}), op(2, 3, 4, get(""), read("7")))
	if res := Check(reg, Options{Model: ModelRegister}); res.Verdict != Linearizable {
		t.Errorf("register 07 read as 7: %s %v", res.Verdict, res.Err)
	}
}

func TestVisualize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.html")
	h, err := ReadHistory("testdata/stale-read.json")
	if err != nil {
		t.Fatal(err)
	}
	res := Check(h, Options{VisualizePath: path})
	if res.Err != nil || res.Verdict != NotLinearizable {
		t.Fatalf("%s, %v", res.Verdict, res.Err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "<html") {
		t.Errorf("no HTML visualisation written: %v", err)
	}
}

// TestFastPathAgreesOnAmbiguousValues writes short values over {a, b} that run into each
// other ("ab" + "a" = "a" + "ba"), so the fast path must notice ambiguous decompositions
// and give up rather than guess; where it still decides, porcupine must agree.
func TestFastPathAgreesOnAmbiguousValues(t *testing.T) {
	var a agreement
	for seed := int64(0); seed < 1500; seed++ {
		rng := rand.New(rand.NewSource(seed))
		cfg := genConfig{clients: 2 + rng.Intn(5), keys: 1, ops: 5 + rng.Intn(30),
			pendingPct: rng.Intn(20), casPct: rng.Intn(40), appendPct: rng.Intn(60), putPct: rng.Intn(30),
			maxGap: 1 + rng.Intn(20), tinyValues: true}
		h := genHistory(rng, cfg)
		for k := rng.Intn(3); k > 0; k-- {
			h = mutate(rng, h)
		}
		agreeOnParts(t, "tiny values", h, &a, false)
	}
	t.Logf("%d keys, fast path decided %d", a.keys, a.fastDecided)
	if a.fastDecided == 0 || a.fastDecided == a.keys {
		t.Errorf("fast path decided %d of %d keys: the test does not exercise both ways", a.fastDecided, a.keys)
	}
}
