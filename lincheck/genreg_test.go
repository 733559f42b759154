package lincheck

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// regShape shapes a generated register history in the manner of Jepsen's register
// workloads: values from a small domain, many clients, crashed operations left open to the
// end, and optionally one anomaly that no order can explain.
type regShape struct {
	domain, clients, ops int
	crashPct             int  // operations that crash: never answered, effect or not at random
	casPct, writePct     int  // the rest are reads
	latency              int  // mean ticks from invocation to answer
	anomaly              bool // one read (or swap) no order can explain
}

func (r regShape) String() string {
	kind := "ok"
	if r.anomaly {
		kind = "bad"
	}
	return fmt.Sprintf("d%d-c%d-n%d-crash%d-%s", r.domain, r.clients, r.ops, r.crashPct, kind)
}

// regClient is one client of the generator: at most one call in flight.
type regClient struct {
	busy    bool
	op      Operation
	effect  int64 // tick of its effect, or 0 once applied
	answer  int64
	crashed bool
}

// regEffect is a crashed operation that takes effect later.
type regEffect struct {
	at int64
	in KVInput
}

// genRegister makes a register history (model register: values are integers, "" is nil)
// whose verdict is known by construction. Every operation takes effect at one tick of its
// interval, in tick order, and clients hear what that order returns, so the history is
// linearizable. A crashed operation's client gives up at its answer tick and moves on (as
// a Jepsen process that times out is replaced); half of crashed writes and swaps take
// effect at some later tick, even long after.
//
// With anomaly, at a random point, the clients are let finish until none is busy; then one
// writes x and, after it is answered, another reads y != x (or swaps y for another value and
// is told it swapped). Before that point no operation that would produce y (a write of y, a
// swap to y) is ever crashed, so nothing that can take effect between the write and the read
// produces y: no order explains it, however values repeat.
func genRegister(seed int64, shape regShape) *History {
	rng := rand.New(rand.NewSource(seed))
	g := &regGen{rng: rng, shape: shape, clients: make([]regClient, shape.clients),
		crashes: make([]int, shape.clients), y: rng.Intn(shape.domain)}
	g.anomalyAt = -1
	if shape.anomaly {
		g.anomalyAt = shape.ops/4 + rng.Intn(shape.ops/2+1)
	}
	for tick := int64(1); ; tick++ {
		g.applyEffects(tick)
		if g.step(tick) {
			break
		}
	}
	return &History{Format: FormatJepsenEtcd, Model: ModelRegister, TimeUnit: "tick", Operations: g.ops}
}

type regGen struct {
	rng       *rand.Rand
	shape     regShape
	clients   []regClient
	state     string
	ops       []Operation
	invoked   int
	effects   []regEffect
	anomalyAt int   // the number of invocations before the anomaly, -1 for none
	y         int   // the value the anomaly sees
	crashes   []int // by client: calls crashed so far, so that each crash starts a process
	pause     int64 // no calls start before this tick
}

// step advances every client by one tick; it reports whether the history is complete.
func (g *regGen) step(tick int64) bool {
	if g.invoked == g.anomalyAt {
		if g.busy() {
			g.advance(tick, false)
			return false
		}
		g.insertAnomaly(tick)
		g.anomalyAt = -1
		return false
	}
	g.advance(tick, g.invoked < g.shape.ops)
	return g.invoked >= g.shape.ops && !g.busy()
}

func (g *regGen) busy() bool {
	for _, c := range g.clients {
		if c.busy {
			return true
		}
	}
	return false
}

// advance applies the effects and answers due at tick, and invokes new calls.
func (g *regGen) advance(tick int64, invoke bool) {
	for i := range g.clients {
		c := &g.clients[i]
		if c.busy && c.effect == tick {
			g.apply(c)
		}
		if c.busy && c.answer <= tick {
			c.busy = false
			if !c.crashed {
				c.op.Response = tick
			}
			g.ops = append(g.ops, c.op)
		}
		// A client starts a call on about one tick in latency/4.
		if !c.busy && invoke && tick >= g.pause && g.invoked < g.shape.ops && g.invoked != g.anomalyAt &&
			g.rng.Intn(max(1, g.shape.latency/4)) == 0 {
			g.invoke(c, i, tick)
		}
	}
}

// invoke starts a call of client i.
func (g *regGen) invoke(c *regClient, i int, tick int64) {
	g.invoked++
	in := KVInput{Op: OpGet}
	v := strconv.Itoa(g.rng.Intn(g.shape.domain))
	switch r := g.rng.Intn(100); {
	case r < g.shape.casPct:
		in = KVInput{Op: OpCAS, Expected: strconv.Itoa(g.rng.Intn(g.shape.domain)), Value: v}
	case r < g.shape.casPct+g.shape.writePct:
		in = KVInput{Op: OpPut, Value: v}
	}
	lat := 1 + g.rng.Int63n(int64(2*g.shape.latency))
	*c = regClient{busy: true, op: Operation{Client: g.process(i), Invoke: tick, Input: in},
		effect: tick + 1 + g.rng.Int63n(lat), answer: tick + lat}
	producesY := in.Op != OpGet && in.Value == strconv.Itoa(g.y)
	if g.rng.Intn(100) < g.shape.crashPct && !(g.anomalyAt >= 0 && producesY) {
		c.crashed = true
		c.op.Pending = true
		g.crashes[i]++
		if in.Op != OpGet && g.rng.Intn(2) == 0 {
			// It takes effect, but perhaps long after its client gave up.
			g.effects = append(g.effects, regEffect{at: tick + g.rng.Int63n(int64(20*g.shape.latency)+1), in: in})
		}
		c.effect = 0
	}
}

// process names client i's current process: a client whose call crashed comes back as a
// new process, as in Jepsen.
func (g *regGen) process(i int) int {
	return i + g.shape.clients*g.crashes[i]
}

// apply takes a call's effect now: the state changes and the client's answer is fixed.
func (g *regGen) apply(c *regClient) {
	c.effect = 0
	var out KVOutput
	g.state, out = KVStep(g.state, c.op.Input)
	c.op.Output = out
}

func (g *regGen) applyEffects(tick int64) {
	kept := g.effects[:0]
	for _, e := range g.effects {
		if e.at == tick {
			g.state, _ = KVStep(g.state, e.in)
		} else {
			kept = append(kept, e)
		}
	}
	g.effects = kept
}

// insertAnomaly adds, at a quiescent tick, a write of x answered before a read of y (or a
// swap from y told it swapped), y != x.
func (g *regGen) insertAnomaly(tick int64) {
	x := (g.y + 1 + g.rng.Intn(g.shape.domain-1)) % g.shape.domain
	w := Operation{Client: g.process(0), Invoke: tick, Response: tick + 1, Input: KVInput{Op: OpPut, Value: strconv.Itoa(x)}}
	g.state, _ = KVStep(g.state, w.Input)
	r := Operation{Client: g.process(1), Invoke: tick + 2, Response: tick + 3, Input: KVInput{Op: OpGet},
		Output: KVOutput{Value: strconv.Itoa(g.y)}}
	if g.rng.Intn(2) == 0 {
		r.Input = KVInput{Op: OpCAS, Expected: strconv.Itoa(g.y), Value: strconv.Itoa(x)}
		r.Output = KVOutput{Swapped: true}
	}
	g.ops = append(g.ops, w, r)
	// The other clients wait for the anomaly to finish.
	for i := range g.clients {
		g.clients[i].busy = false
	}
	g.pause = tick + 4
}

// jepsenLog writes a register history as a Jepsen etcd log, one line per invocation and
// completion in time order (a completion before an invocation at the same tick: a client
// may start its next call then, and the generator's effects are in that order too). A cas that did not swap completes with :fail,
// as etcd's does; a crashed call never completes.
func jepsenLog(h *History) []byte {
	type line struct {
		at       int64
		complete bool
		i        int
	}
	var lines []line
	for i, o := range h.Operations {
		lines = append(lines, line{at: o.Invoke, i: i})
		if !o.Pending {
			lines = append(lines, line{at: o.Response, complete: true, i: i})
		}
	}
	sort.SliceStable(lines, func(a, b int) bool {
		if lines[a].at != lines[b].at {
			return lines[a].at < lines[b].at
		}
		return lines[a].complete && !lines[b].complete
	})
	var b bytes.Buffer
	for _, l := range lines {
		o := h.Operations[l.i]
		f, arg := map[KVOp]string{OpGet: "read", OpPut: "write", OpCAS: "cas"}[o.Input.Op], "nil"
		switch o.Input.Op {
		case OpPut:
			arg = o.Input.Value
		case OpCAS:
			arg = fmt.Sprintf("[%s %s]", o.Input.Expected, o.Input.Value)
		}
		kind := "invoke"
		if l.complete {
			kind = "ok"
			switch {
			case o.Input.Op == OpGet && o.Output.Value != "":
				arg = o.Output.Value
			case o.Input.Op == OpCAS && !o.Output.Swapped:
				kind = "fail"
			}
		}
		fmt.Fprintf(&b, "INFO  jepsen.util - %d\t:%s\t:%s\t%s\n", o.Client, kind, f, arg)
	}
	return b.Bytes()
}

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/register-*.log from the generator")

// registerFixtures are generated histories kept as Jepsen logs for the command's tests.
var registerFixtures = map[string]struct {
	seed  int64
	shape regShape
}{
	"register-anomaly.log": {3, regShape{domain: 3, clients: 10, ops: 400, crashPct: 10, casPct: 20, writePct: 40, latency: 10, anomaly: true}},
	"register-ok.log":      {4, regShape{domain: 3, clients: 10, ops: 400, crashPct: 10, casPct: 20, writePct: 40, latency: 10}},
}

// TestRegisterFixtures: the logs in testdata are what the generator makes (-rewrite makes
// them again), they read back as the history written, and judge as constructed.
func TestRegisterFixtures(t *testing.T) {
	for name, f := range registerFixtures {
		h := genRegister(f.seed, f.shape)
		data := jepsenLog(h)
		path := filepath.Join("testdata", name)
		if *rewrite {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s is not what the generator makes (go test ./lincheck -run RegisterFixtures -rewrite): %v", path, err)
		}
		read, err := ParseHistory(name, got)
		if err != nil {
			t.Fatal(err)
		}
		want := Linearizable
		if f.shape.anomaly {
			want = NotLinearizable
		}
		if res := Check(read, Options{}); res.Verdict != want || res.Method != MethodSweep {
			t.Errorf("%s: %s by %s, want %s by the sweep", name, res.Verdict, res.Method, want)
		}
	}
}
