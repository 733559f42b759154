package lincheck

import (
	"fmt"
	"math/rand"
)

// genConfig shapes a generated history. Percentages are of all operations.
type genConfig struct {
	clients, keys, ops int
	pendingPct         int // operations whose client never hears back
	casPct, appendPct  int
	putPct             int // the rest are gets
	maxGap             int // longest wait between one client's steps, in ticks
	// tinyValues writes short unique strings over {a, b} instead of "c3.7", so that
	// values run into each other and decompositions become ambiguous.
	tinyValues bool
}

// genClient is one client of the generator: at most one operation in flight.
type genClient struct {
	busy       bool
	retired    bool // no more operations to invoke
	linearized bool
	op         Operation
	seq        int
	next       int64 // tick of its next step
	willHang   bool
	willSkip   bool // a hanging op that never takes effect
}

// genHistory makes a linearizable history from a sequential execution: each operation is
// invoked, takes effect at one tick of its interval (in the order of those ticks) and is
// answered later, so intervals overlap at random. Values are unique ("c3.7": client 3's
// seventh request), as vsrsim's clients write them; appended values end in ";" so that a
// key's value reads as a list.
func genHistory(rng *rand.Rand, cfg genConfig) *History {
	if cfg.maxGap == 0 {
		cfg.maxGap = 8
	}
	if cfg.putPct == 0 && cfg.appendPct == 0 {
		cfg.putPct = 30
	}
	state := make(map[string]string)
	var seen []string // values of writes, for cas to expect
	tiny := make(map[string]bool)
	clients := make([]genClient, cfg.clients)
	var ops []Operation
	for tick, invoked := int64(1), 0; ; tick++ {
		idle := true
		for c := range clients {
			cl := &clients[c]
			if cl.retired || cl.next > tick {
				idle = idle && cl.retired
				continue
			}
			idle = false
			cl.next = tick + 1 + int64(rng.Intn(cfg.maxGap))
			switch {
			case !cl.busy && invoked < cfg.ops:
				invoked++
				cl.busy, cl.linearized, cl.seq = true, false, cl.seq+1
				cl.op = genOp(rng, cfg, c, cl.seq, tick, seen, state)
				if cfg.tinyValues && cl.op.Input.Op != OpGet {
					cl.op.Input.Value = tinyValue(rng, tiny)
				}
				cl.willHang = rng.Intn(100) < cfg.pendingPct
				cl.willSkip = cl.willHang && rng.Intn(2) == 0
			case !cl.busy:
				cl.retired = true
			case !cl.linearized:
				cl.linearized = true
				if !cl.willSkip {
					in := cl.op.Input
					state[in.Key], cl.op.Output = KVStep(state[in.Key], in)
					if in.Op.writes() {
						seen = append(seen, state[in.Key])
					}
				}
			default:
				cl.busy = false
				if cl.willHang {
					// The client gives up waiting and moves on, like a Jepsen process
					// that times out; the operation stays pending.
					cl.op.Pending, cl.op.Output = true, KVOutput{}
				} else {
					cl.op.Response = tick
				}
				ops = append(ops, cl.op)
			}
		}
		if idle {
			return &History{Format: FormatVSRSim, Model: ModelKV, TimeUnit: "tick", Operations: ops}
		}
	}
}

// genOp draws one operation for client c.
func genOp(rng *rand.Rand, cfg genConfig, c, seq int, tick int64, seen []string, state map[string]string) Operation {
	key := fmt.Sprintf("k%d", rng.Intn(cfg.keys))
	value := fmt.Sprintf("c%d.%d", c, seq)
	in := KVInput{Op: OpGet, Key: key}
	switch r := rng.Intn(100); {
	case r < cfg.casPct:
		in = KVInput{Op: OpCAS, Key: key, Value: value, Expected: state[key]}
		if len(seen) > 0 && rng.Intn(3) == 0 {
			in.Expected = seen[rng.Intn(len(seen))]
		}
	case r < cfg.casPct+cfg.appendPct:
		in = KVInput{Op: OpAppend, Key: key, Value: value + ";"}
	case r < cfg.casPct+cfg.appendPct+cfg.putPct:
		in = KVInput{Op: OpPut, Key: key, Value: value}
	}
	return Operation{Client: c, Invoke: tick, Input: in}
}

// tinyValue draws an unused short string of letters a and b, longer when short ones run
// out.
func tinyValue(rng *rand.Rand, used map[string]bool) string {
	for n := 1; ; n++ {
		for try := 0; try < 8; try++ {
			v := ""
			for k := rng.Intn(n) + 1; k > 0; k-- {
				v += string("ab"[rng.Intn(2)])
			}
			if !used[v] {
				used[v] = true
				return v
			}
		}
	}
}

// mutate makes a history likely not linearizable, in one of the ways real bugs show: a
// read returns another value (stale, or from another key), a cas answers the other way,
// two operations swap places in real time, or an appended list loses or reorders items.
func mutate(rng *rand.Rand, h *History) *History {
	ops := append([]Operation(nil), h.Operations...)
	m := &History{Format: h.Format, Model: h.Model, TimeUnit: h.TimeUnit, Operations: ops}
	if len(ops) < 2 {
		return m
	}
	var values []string
	for _, o := range ops {
		if o.Input.Op == OpGet && !o.Pending {
			values = append(values, o.Output.Value)
		}
		if o.Input.Op.writes() {
			values = append(values, o.Input.Value)
		}
	}
	for tries := 0; tries < 100; tries++ {
		i, j := rng.Intn(len(ops)), rng.Intn(len(ops))
		a, b := &ops[i], &ops[j]
		switch rng.Intn(4) {
		case 0:
			if a.Input.Op == OpGet && !a.Pending && len(values) > 0 {
				a.Output.Value = values[rng.Intn(len(values))]
				return m
			}
		case 1:
			if a.Input.Op == OpCAS && !a.Pending {
				a.Output.Swapped = !a.Output.Swapped
				return m
			}
		case 2:
			if !a.Pending && !b.Pending && a.Response < b.Invoke && a.Input.Key == b.Input.Key {
				a.Invoke, a.Response, b.Invoke, b.Response = b.Invoke, b.Response, a.Invoke, a.Response
				return m
			}
		default:
			if a.Input.Op == OpGet && !a.Pending && len(a.Output.Value) > 0 {
				a.Output.Value = reorderList(rng, a.Output.Value)
				return m
			}
		}
	}
	return m
}

// reorderList drops or swaps items of an appended list "c1.1;c2.4;".
func reorderList(rng *rand.Rand, v string) string {
	var items []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == ';' {
			items = append(items, v[start:i+1])
			start = i + 1
		}
	}
	if len(items) < 2 {
		return v + "c99.99;"
	}
	k := rng.Intn(len(items) - 1)
	if rng.Intn(2) == 0 {
		items = append(items[:k], items[k+1:]...)
	} else {
		items[k], items[k+1] = items[k+1], items[k]
	}
	out := ""
	for _, it := range items {
		out += it
	}
	return out + v[start:]
}
