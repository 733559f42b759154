package checker

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/xxh3"

	"github.com/vsrsim/vsrsim/core"
)

// Model replays the canonical history, op by op, through a client table and a key-value
// store of its own: independent of the replicas' code, it says which requests must run,
// what each returns, and what state every op leaves. The checker never trusts a replica to
// say what it executed:
//
//   - every request that runs must have been sent by its client, with that body (no
//     phantoms), and must run once however often it was retried or duplicated;
//   - a replica's state digest after op n must equal the model's (convergence, and
//     exactly-once execution seen from the inside);
//   - each execution's output and position are the witness the linearizability check uses.
//
// The client table follows the documented rules: sessions open at the register's op, a
// session's next request runs once, a full table evicts the session with the oldest
// (commit, batch index). The digest follows core.KV's documented spec: the xor, over keys
// with a non-empty value, of xxh3-128 of (key length, key, value).
type Model struct {
	tableMax   int
	sessions   map[core.ClientID]*modelSession
	values     map[string]string
	digest     core.Checksum
	digests    []core.Checksum // after each op
	runs       []uint64        // requests run through the store up to and including each op
	sent       map[sentKey]int // client and body → the history index of the request
	executions []Execution     // by history index; Op 0 while not executed
	positions  int
	violations []Violation
}

type modelSession struct {
	session core.Session
	request core.RequestNumber
	commit  core.Op
	index   uint32
}

// Execution is where a request ran in the canonical order, and what it returned.
type Execution struct {
	Op       core.Op
	Index    uint32 // in the op's batch
	Position int    // among all executions, from 1
	Output   KVOutput
	Invalid  bool // the store rejected the input
}

// NewModel starts the model of a cluster whose client table holds tableMax sessions.
func NewModel(tableMax int) *Model {
	return &Model{tableMax: tableMax, sessions: make(map[core.ClientID]*modelSession),
		values: make(map[string]string), digests: []core.Checksum{{}}, runs: []uint64{0},
		sent: make(map[sentKey]int)}
}

// Reserve sizes the model for a run of about this many operations, so it does not regrow.
func (m *Model) Reserve(operations int) {
	operations = min(operations, 1<<16)
	m.digests = append(make([]core.Checksum, 0, operations+1), m.digests...)
	m.runs = append(make([]uint64, 0, operations+1), m.runs...)
	m.executions = append(make([]Execution, 0, operations), m.executions...)
	sent := make(map[sentKey]int, operations)
	// map order: copying a map into a map.
	for k, v := range m.sent {
		sent[k] = v
	}
	m.sent = sent
}

// sentKey names a request by its client and the xxh3-128 of its body.
type sentKey struct {
	client core.ClientID
	body   xxh3.Uint128
}

func keyOf(client core.ClientID, body []byte) sentKey {
	return sentKey{client: client, body: xxh3.Hash128(body)}
}

// Sent records that a client sent an operation, history index i. Bodies are unique per
// client (the workload makes them so), which names every request the model meets.
func (m *Model) Sent(client core.ClientID, body []byte, i int) {
	key := keyOf(client, body)
	if _, ok := m.sent[key]; ok {
		panic(fmt.Sprintf("checker: client %x sent the same body twice", client))
	}
	m.sent[key] = i
	for len(m.executions) <= i {
		m.executions = append(m.executions, Execution{})
	}
}

// Ops is the number of ops the model has applied.
func (m *Model) Ops() core.Op { return core.Op(len(m.digests) - 1) }

// Digest is the model's digest after op.
func (m *Model) Digest(op core.Op) core.Checksum { return m.digests[op] }

// Execution returns where history operation i ran, if it did.
func (m *Model) Execution(i int) (Execution, bool) {
	if i >= len(m.executions) || m.executions[i].Op == 0 {
		return Execution{}, false
	}
	return m.executions[i], true
}

// Apply runs the next canonical op, whose whole prepare is given, and returns what broke.
func (m *Model) Apply(tick uint64, op core.Op, prepare []byte) []Violation {
	if op != m.Ops()+1 {
		panic(fmt.Sprintf("checker: model at op %d given op %d", m.Ops(), op))
	}
	m.violations = m.violations[:0]
	var index uint32
	core.DecodeBatch(prepare, func(r *core.Request) {
		switch r.Operation {
		case core.OperationRegister:
			m.register(r.Client, op, index)
		case core.OperationApply:
			m.apply(tick, r, op, index)
		}
		index++
	})
	m.digests = append(m.digests, m.digest)
	m.runs = append(m.runs, uint64(m.positions))
	return append([]Violation(nil), m.violations...)
}

func (m *Model) register(client core.ClientID, op core.Op, index uint32) {
	if m.sessions[client] != nil {
		return
	}
	if len(m.sessions) == m.tableMax {
		var oldest core.ClientID
		var o *modelSession
		// map order: the minimum of distinct (commit, index) pairs does not depend on it.
		for c, s := range m.sessions {
			if o == nil || s.commit < o.commit || (s.commit == o.commit && s.index < o.index) {
				oldest, o = c, s
			}
		}
		delete(m.sessions, oldest)
	}
	m.sessions[client] = &modelSession{session: core.Session(op), commit: op, index: index}
}

func (m *Model) apply(tick uint64, r *core.Request, op core.Op, index uint32) {
	s := m.sessions[r.Client]
	if s == nil || s.session != r.Session || r.Request != s.request+1 {
		return // an evicted session, a duplicate, or a gap: the request does not run
	}
	s.request, s.commit, s.index = r.Request, op, index
	m.positions++
	e := Execution{Op: op, Index: index, Position: m.positions}
	in, err := core.DecodeKV(r.Body)
	if err != nil {
		e.Invalid = true
	} else {
		e.Output, e.Invalid = m.step(in)
	}
	i, ok := m.sent[keyOf(r.Client, r.Body)]
	switch {
	case !ok:
		m.violations = append(m.violations, Violation{Tick: tick, Replica: -1, Invariant: "no phantoms",
			Detail: fmt.Sprintf("op %d ran request %d of client %x session %d, which the client never sent",
				op, r.Request, r.Client, r.Session)})
	case m.executions[i].Op != 0:
		m.violations = append(m.violations, Violation{Tick: tick, Replica: -1, Invariant: "exactly once",
			Detail: fmt.Sprintf("client %x's operation ran at op %d and again at op %d (request %d)",
				r.Client, m.executions[i].Op, op, r.Request)})
	default:
		m.executions[i] = e
	}
}

// step applies one key-value operation, with the store's bound on values.
func (m *Model) step(in core.KVInput) (KVOutput, bool) {
	current := m.values[in.Key]
	next, out := KVStep(current, FromCoreKV(in))
	if len(next) > core.KVValueMax {
		return KVOutput{}, true
	}
	if next != current {
		m.set(in.Key, current, next)
	}
	return out, false
}

func (m *Model) set(key, old, value string) {
	if old != "" {
		m.digest = xorChecksum(m.digest, entryChecksum(key, old))
	}
	if value == "" {
		delete(m.values, key)
		return
	}
	m.values[key] = value
	m.digest = xorChecksum(m.digest, entryChecksum(key, value))
}

func entryChecksum(key, value string) core.Checksum {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(key)+len(value)), uint32(len(key)))
	h := xxh3.Hash128(append(append(b, key...), value...))
	return core.Checksum{Lo: h.Lo, Hi: h.Hi}
}

func xorChecksum(a, b core.Checksum) core.Checksum {
	return core.Checksum{Lo: a.Lo ^ b.Lo, Hi: a.Hi ^ b.Hi}
}

// CheckDigest compares a replica's digest after its executed op with the model's.
func (m *Model) CheckDigest(tick uint64, replica int, op core.Op, digest core.Checksum) []Violation {
	if op > m.Ops() || m.digests[op] == digest {
		return nil
	}
	return []Violation{{Tick: tick, Replica: replica, Invariant: "convergence",
		Detail: fmt.Sprintf("state digest %v after op %d, the model's is %v", digest, op, m.digests[op])}}
}

// FromCoreKV turns the store's input into the model's.
func FromCoreKV(in core.KVInput) KVInput {
	var op KVOp
	switch in.Op {
	case core.KVGet:
		op = OpGet
	case core.KVPut:
		op = OpPut
	case core.KVAppend:
		op = OpAppend
	case core.KVCas:
		op = OpCAS
	default:
		panic(fmt.Sprintf("checker: key-value op %d", in.Op))
	}
	out := KVInput{Op: op, Key: in.Key, Value: in.Value, Expected: in.Expected}
	if op == OpGet {
		out.Value = "" // a get's value carries only the workload's tag
	}
	return out
}

// CheckRuns compares how many requests a replica ran through its state machine from the
// op its state was restored at (a checkpoint's, 0 for none) to its executed op with how
// many the model ran: a replica that runs a request again is caught even when the request
// leaves no trace in the state (a get, a failed cas).
func (m *Model) CheckRuns(tick uint64, replica int, from, op core.Op, runs uint64) []Violation {
	if op > m.Ops() || from > op || m.runs[op]-m.runs[from] == runs {
		return nil
	}
	return []Violation{{Tick: tick, Replica: replica, Invariant: "exactly once",
		Detail: fmt.Sprintf("ran %d requests through its state machine from op %d to op %d, the model %d",
			runs, from, op, m.runs[op]-m.runs[from])}}
}
