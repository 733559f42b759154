package core

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vsrsim/vsrsim/entropy"
)

// harness is a cluster of real replicas and clients on a network the test controls
// completely. Every message sent goes into one in-flight list, in send order (so each
// (source, target) pair is a FIFO queue); nothing arrives until the test delivers it.
// Time passes only when the test ticks a node. The same harness drives the scenario
// scripts (scenario_test.go) and the paper-conformance tests (paper_test.go).
//
// Nodes are numbered replicas first, then clients: replica i is node i ("r0", "r1", ...),
// client k (ClientID k, counted from 1) is node R+k-1 ("c1", "c2", ...).
//
// Everything the harness prints goes through harnessDescribe (one line per message) and
// the event lines of harness.events, in an order fixed by the test's commands alone: it
// iterates no map, and a replica's random stream comes from a fixed seed.
type harness struct {
	config  Config
	seed    uint64
	decoder *Decoder

	replicas []*Replica    // nil while crashed
	storages []*memStorage // by replica, kept across crashes; writes complete each step
	lives    []int         // how many times each replica has been started
	clocks   []*harnessClock
	machines []*KV
	// machine, when set, builds each replica's state machine instead of a KV (machines
	// then stays nil).
	machine func(i int) StateMachine
	clients []*Client
	replies [][]harnessReply // by client, what its onReply received
	// A client takes a new identity when it is evicted: identities maps every identity a
	// client has had to it (looked up, never iterated), generations counts them.
	identities  map[ClientID]harnessIdentity
	generations []int

	inflight []harnessMessage // in send order
	seq      uint64
	cuts     []harnessCut
	lost     int // messages lost to a cut, a partition or a crashed target

	hidden     [commandCount]bool // commands whose delivery is not printed when nothing follows
	eventsOnly bool               // print events only, no messages
	lines      []string           // output of the current command
	depth      int                // indentation of what is printed: 1 while a message is handled
}

// harnessMessage is a message in flight.
type harnessMessage struct {
	seq     uint64
	source  int
	target  int
	command Command
	data    []byte
}

// harnessCut loses messages from source to target (-1: any node) of the listed commands
// (none: every command) at the moment they are sent.
type harnessCut struct {
	source, target int
	commands       []Command
}

// harnessIdentity is one identity of a client: the client's node, and which of its
// identities it is (1 for the first).
type harnessIdentity struct {
	node       int
	generation int
}

// harnessReply is what a client's onReply saw.
type harnessReply struct {
	op     Op
	output []byte
}

// harnessClock is a replica's clock: 10 ms per tick of that replica, the wall clock from a
// fixed epoch.
type harnessClock struct{ ticks int64 }

const (
	harnessTickNanos = 10_000_000
	harnessEpoch     = 1_700_000_000_000_000_000
)

func (c *harnessClock) Monotonic() int64 { return c.ticks * harnessTickNanos }
func (c *harnessClock) Realtime() int64  { return harnessEpoch + c.ticks*harnessTickNanos }

// harnessBus is one node's MessageBus.
type harnessBus struct {
	h      *harness
	source int
}

func (b *harnessBus) SendToReplica(replica ReplicaIndex, message []byte) {
	b.h.send(b.source, int(replica), message)
}

func (b *harnessBus) SendToClient(client ClientID, message []byte) {
	identity, ok := b.h.identities[client]
	if !ok {
		b.h.lost++ // a client the harness does not know
		return
	}
	b.h.send(b.source, identity.node, message)
}

// harnessConfig is the configuration the harness starts from: the defaults, with a fixed
// cluster identity.
func harnessConfig(replicas int) Config { return DefaultConfig(0x5eed, replicas) }

// newHarness starts a cluster of fresh replicas (all normal in view 0) and clients.
func newHarness(config Config, clients int, seed uint64) *harness {
	return newHarnessWith(config, clients, seed, nil)
}

// newHarnessWith is newHarness with replicas on the state machines machine builds (nil:
// the key-value store).
func newHarnessWith(config Config, clients int, seed uint64, machine func(i int) StateMachine) *harness {
	if err := config.Validate(); err != nil {
		panic(fmt.Sprintf("harness: %v", err))
	}
	h := &harness{config: config, seed: seed, decoder: NewDecoder(config.Cluster, config.Replicas), machine: machine}
	n := config.Replicas
	h.replicas, h.lives = make([]*Replica, n), make([]int, n)
	h.storages = make([]*memStorage, n)
	for i := range h.storages {
		h.storages[i] = newMemStorage()
	}
	h.clocks, h.machines = make([]*harnessClock, n), make([]*KV, n)
	for i := 0; i < n; i++ {
		h.clocks[i] = &harnessClock{}
		h.start(i, false)
		h.storages[i].step(h.replicas[i]) // the root of view 0, written before anything happens
	}
	h.replies = make([][]harnessReply, clients)
	h.identities, h.generations = make(map[ClientID]harnessIdentity), make([]int, clients)
	for k := 0; k < clients; k++ {
		h.clients = append(h.clients, h.newClient(k))
		h.noteIdentity(k)
	}
	return h
}

func (h *harness) stream(name string) *entropy.Rand {
	return entropy.FromSeed(h.seed).Stream(name)
}

// start creates replica i: fresh, or recovering after it lost its state.
func (h *harness) start(i int, recovering bool) {
	rand := h.stream(fmt.Sprintf("replica.%d.life.%d", i, h.lives[i]))
	h.lives[i]++
	bus := &harnessBus{h: h, source: i}
	h.replicas[i] = NewReplica(h.config, ReplicaIndex(i), h.newMachine(i), bus, h.clocks[i], rand,
		h.storages[i], recovering)
}

// newMachine builds replica i's state machine for a new life.
func (h *harness) newMachine(i int) StateMachine {
	if h.machine != nil {
		return h.machine(i)
	}
	h.machines[i] = NewKV()
	return h.machines[i]
}

func (h *harness) newClient(k int) *Client {
	id := ClientID(k + 1)
	node := h.config.Replicas + k
	onReply := func(op Op, output []byte) {
		reply := harnessReply{op: op, output: append([]byte(nil), output...)}
		h.replies[k] = append(h.replies[k], reply)
		h.print("%s reply op%d %s", h.name(node), op, harnessDescribeOutput(output))
	}
	onEvicted := func() { h.print("%s evicted: the outcome of its request is unknown", h.name(node)) }
	bus := &harnessBus{h: h, source: node}
	return NewClient(h.config, id, bus, h.stream(fmt.Sprintf("client.%d", id)), onReply, onEvicted)
}

// noteIdentity records client k's current identity, if it is new.
func (h *harness) noteIdentity(k int) {
	id := h.clients[k].ID()
	if _, ok := h.identities[id]; ok {
		return
	}
	h.generations[k]++
	h.identities[id] = harnessIdentity{node: h.config.Replicas + k, generation: h.generations[k]}
}

// clientName names a client identity: "c1" for client 1's first, "c1#2" for its second.
func (h *harness) clientName(id ClientID) string {
	identity, ok := h.identities[id]
	switch {
	case !ok:
		return fmt.Sprintf("client %x", uint64(id))
	case identity.generation == 1:
		return h.name(identity.node)
	}
	return fmt.Sprintf("%s#%d", h.name(identity.node), identity.generation)
}

// Nodes and their names.

func (h *harness) nodes() int              { return h.config.Replicas + len(h.clients) }
func (h *harness) isReplica(node int) bool { return node < h.config.Replicas }
func (h *harness) replica(i int) *Replica  { return h.replicas[i] }

// client is client k (counted from 1, as its first identity), and clientNode its node.
func (h *harness) client(k ClientID) *Client { return h.clients[k-1] }
func (h *harness) clientNode(k ClientID) int { return h.config.Replicas + int(k) - 1 }

func (h *harness) name(node int) string {
	if h.isReplica(node) {
		return fmt.Sprintf("r%d", node)
	}
	return fmt.Sprintf("c%d", node-h.config.Replicas+1)
}

// parseNode reads "r2" or "c1"; "*" and "all" are -1, any node.
func (h *harness) parseNode(s string) (int, error) {
	if s == "*" || s == "all" {
		return -1, nil
	}
	if len(s) < 2 || (s[0] != 'r' && s[0] != 'c') {
		return 0, fmt.Errorf("%q is not a node (r0, c1, * )", s)
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil {
		return 0, fmt.Errorf("%q is not a node", s)
	}
	if s[0] == 'r' && n >= 0 && n < h.config.Replicas {
		return n, nil
	}
	if s[0] == 'c' && n >= 1 && n <= len(h.clients) {
		return h.config.Replicas + n - 1, nil
	}
	return 0, fmt.Errorf("no node %s in a cluster of %d replicas and %d clients", s,
		h.config.Replicas, len(h.clients))
}

// The network.

func (h *harness) send(source, target int, message []byte) {
	command := h.command(message)
	if h.isCut(source, target, command) || (h.isReplica(target) && h.replicas[target] == nil) {
		h.lost++
		if h.shown(command) {
			h.print("%s (lost)", h.describe(source, target, message))
		}
		return
	}
	h.seq++
	h.inflight = append(h.inflight, harnessMessage{seq: h.seq, source: source, target: target,
		command: command, data: append([]byte(nil), message...)})
	if h.shown(command) {
		h.print("%s", h.describe(source, target, message))
	}
}

// shown reports whether messages of a command are printed.
func (h *harness) shown(command Command) bool { return !h.eventsOnly && !h.hidden[command] }

func (h *harness) command(message []byte) Command {
	command, err := h.decoder.Decode(message)
	if err != nil {
		return CommandReserved
	}
	return command
}

func (h *harness) isCut(source, target int, command Command) bool {
	for _, c := range h.cuts {
		if (c.source == -1 || c.source == source) && (c.target == -1 || c.target == target) &&
			harnessMatches(c.commands, command) {
			return true
		}
	}
	return false
}

func harnessMatches(commands []Command, command Command) bool {
	if len(commands) == 0 {
		return true
	}
	for _, c := range commands {
		if c == command {
			return true
		}
	}
	return false
}

// selectInflight lists, in send order, the sequence numbers of at most limit (0: any
// number of) messages in flight from source to target (-1: any) of the given commands.
func (h *harness) selectInflight(source, target int, commands []Command, limit int) []uint64 {
	var picked []uint64
	for _, m := range h.inflight {
		if (source == -1 || m.source == source) && (target == -1 || m.target == target) &&
			harnessMatches(commands, m.command) {
			picked = append(picked, m.seq)
			if limit > 0 && len(picked) == limit {
				break
			}
		}
	}
	return picked
}

// take removes the message with this sequence number from flight.
func (h *harness) take(seq uint64) (harnessMessage, bool) {
	for i, m := range h.inflight {
		if m.seq == seq {
			h.inflight = append(h.inflight[:i], h.inflight[i+1:]...)
			return m, true
		}
	}
	return harnessMessage{}, false
}

// deliver hands the selected messages, in send order, to their targets. What they send in
// turn waits for a later delivery. It returns how many it delivered.
func (h *harness) deliver(source, target int, commands []Command, limit int) int {
	delivered := 0
	for _, seq := range h.selectInflight(source, target, commands, limit) {
		if m, ok := h.take(seq); ok {
			h.receive(m)
			delivered++
		}
	}
	return delivered
}

func (h *harness) deliverAll() int { return h.deliver(-1, -1, nil, 0) }

// drain delivers round after round, without ticking, until nothing is in flight.
func (h *harness) drain() int {
	const deliveriesMax = 1_000_000
	delivered := 0
	for len(h.inflight) > 0 {
		delivered += h.deliverAll()
		if delivered > deliveriesMax {
			panic("harness: drain delivered a million messages")
		}
	}
	return delivered
}

// receive hands one message to its target and prints it with what followed, indented.
func (h *harness) receive(m harnessMessage) {
	mark := len(h.lines)
	h.depth++
	if h.isReplica(m.target) {
		h.step(m.target, func(r *Replica) { r.Receive(m.data) })
	} else {
		k := m.target - h.config.Replicas
		h.clients[k].Receive(m.data)
		h.noteIdentity(k)
	}
	h.depth--
	if h.eventsOnly || (h.hidden[m.command] && len(h.lines) == mark) {
		return
	}
	line := h.describe(m.source, m.target, m.data)
	h.lines = append(h.lines[:mark], append([]string{line}, h.lines[mark:]...)...)
}

// drop removes the selected messages from flight and returns them.
func (h *harness) drop(source, target int, commands []Command, limit int) []harnessMessage {
	var dropped []harnessMessage
	for _, seq := range h.selectInflight(source, target, commands, limit) {
		if m, ok := h.take(seq); ok {
			dropped = append(dropped, m)
		}
	}
	return dropped
}

// duplicate puts a copy of the first selected message right behind it.
func (h *harness) duplicate(source, target int, commands []Command) (harnessMessage, bool) {
	picked := h.selectInflight(source, target, commands, 1)
	if len(picked) == 0 {
		return harnessMessage{}, false
	}
	for i, m := range h.inflight {
		if m.seq == picked[0] {
			h.seq++
			copied := m
			copied.seq = h.seq
			h.inflight = append(h.inflight[:i+1], append([]harnessMessage{copied},
				h.inflight[i+1:]...)...)
			return m, true
		}
	}
	panic("harness: selected message not in flight")
}

// inject puts a message of the test's making in flight, as if source had sent it.
func (h *harness) inject(source, target int, message []byte) { h.send(source, target, message) }

// handle delivers a message of the test's making at once, ahead of what is in flight.
func (h *harness) handle(source, target int, message []byte) {
	h.receive(harnessMessage{source: source, target: target, command: h.command(message),
		data: message})
}

// partition cuts every link between nodes of different groups, both ways, and loses what
// is in flight across them.
func (h *harness) partition(groups [][]int) int {
	for a := range groups {
		for b := range groups {
			if a == b {
				continue
			}
			for _, x := range groups[a] {
				for _, y := range groups[b] {
					h.cuts = append(h.cuts, harnessCut{source: x, target: y})
				}
			}
		}
	}
	return h.loseCut()
}

// cut loses, from now on, messages from source to target of the given commands (one way),
// and what is in flight that matches.
func (h *harness) cut(source, target int, commands []Command) int {
	h.cuts = append(h.cuts, harnessCut{source: source, target: target, commands: commands})
	return h.loseCut()
}

func (h *harness) loseCut() int {
	kept, lost := h.inflight[:0], 0
	for _, m := range h.inflight {
		if h.isCut(m.source, m.target, m.command) {
			lost++
			continue
		}
		kept = append(kept, m)
	}
	h.inflight = kept
	h.lost += lost
	return lost
}

func (h *harness) heal() { h.cuts = nil }

// crash stops replica i: it and everything in flight to it are gone.
func (h *harness) crash(i int) int {
	if h.replicas[i] == nil {
		panic(fmt.Sprintf("harness: r%d is already down", i))
	}
	h.replicas[i] = nil
	h.storages[i].crash()
	return len(h.drop(-1, i, nil, 0))
}

// restart brings replica i back with an empty state: it must recover (VRR §4.3), as in the
// simulator until storage lands.
func (h *harness) restart(i int) {
	if h.replicas[i] != nil {
		panic(fmt.Sprintf("harness: r%d is running", i))
	}
	h.step(i, func(*Replica) { h.start(i, true) })
}

// Time.

// tickNode ticks one node n times.
func (h *harness) tickNode(node, n int) {
	for ; n > 0; n-- {
		if !h.isReplica(node) {
			h.clients[node-h.config.Replicas].Tick()
			h.noteIdentity(node - h.config.Replicas)
			continue
		}
		if h.replicas[node] == nil {
			return
		}
		h.clocks[node].ticks++
		h.step(node, (*Replica).Tick)
	}
}

// tickAll ticks every running node n times, one tick at a time in node order.
func (h *harness) tickAll(n int) {
	for ; n > 0; n-- {
		for node := 0; node < h.nodes(); node++ {
			h.tickNode(node, 1)
		}
	}
}

// submit starts a key-value operation at a client.
func (h *harness) submit(client ClientID, in KVInput) error {
	c := h.client(client)
	if c.Busy() {
		return fmt.Errorf("%s is busy", h.name(h.clientNode(client)))
	}
	c.Submit(EncodeKV(nil, in))
	h.noteIdentity(int(client) - 1)
	return nil
}

// Output.

func (h *harness) print(format string, args ...any) {
	depth := h.depth
	if h.eventsOnly {
		depth = 0
	}
	h.lines = append(h.lines, strings.Repeat("  ", depth)+fmt.Sprintf(format, args...))
}

// flush returns what was printed since the last flush.
func (h *harness) flush() []string {
	lines := h.lines
	h.lines = nil
	return lines
}

// harnessReplicaState is what events compare before and after a replica handles something.
type harnessReplicaState struct {
	running   bool
	status    Status
	view      View
	op        Op
	commitMin Op
}

func (h *harness) state(i int) harnessReplicaState {
	r := h.replicas[i]
	if r == nil {
		return harnessReplicaState{}
	}
	return harnessReplicaState{running: true, status: r.status, view: r.view, op: r.journal.op,
		commitMin: r.commitMin}
}

// step runs f on replica i, then completes the writes that are due on its storage (what
// they unblock is sent in the same step), and prints what changed in it.
func (h *harness) step(i int, f func(r *Replica)) {
	before := h.state(i)
	f(h.replicas[i])
	h.storages[i].step(h.replicas[i])
	h.events(i, before, h.state(i))
}

func (h *harness) events(i int, before, after harnessReplicaState) {
	name := h.name(i)
	if after.status != before.status || after.view != before.view ||
		after.running != before.running {
		role := ""
		if after.status == StatusNormal {
			role = " backup"
			if h.replicas[i].isPrimary() {
				role = " primary"
			}
		}
		h.print("%s is %v in v%d%s", name, after.status, after.view, role)
	}
	if after.op < before.op {
		h.print("%s truncated its log to op%d", name, after.op)
	}
	if after.commitMin > before.commitMin {
		if after.commitMin == before.commitMin+1 {
			h.print("%s executed op%d", name, after.commitMin)
		} else {
			h.print("%s executed op%d..op%d", name, before.commitMin+1, after.commitMin)
		}
	}
}

// statusLine is one replica's state on one line.
func (h *harness) statusLine(i int) string {
	r := h.replicas[i]
	if r == nil {
		return fmt.Sprintf("r%d: down", i)
	}
	health := "healthy"
	if !r.Healthy() {
		health = "unhealthy"
	}
	role := "backup"
	if r.isPrimary() {
		role = "primary"
	}
	return fmt.Sprintf("r%d: %v v%d log_view %d op %d commit %d/%d %s %s",
		i, r.status, r.view, r.logView, r.journal.op, r.commitMin, r.commitMax, health, role)
}

func (h *harness) clientLine(k int) string {
	c := h.clients[k]
	busy := "idle"
	if c.Busy() {
		busy = "busy"
	}
	return fmt.Sprintf("c%d: session %d request %d view %d %s", k+1, c.session, c.request, c.view,
		busy)
}

// logLines renders replica i's journal: its head and trust, then one line per op.
func (h *harness) logLines(i int) []string {
	r := h.replicas[i]
	if r == nil {
		return []string{fmt.Sprintf("r%d: down", i)}
	}
	j := r.journal
	lines := []string{fmt.Sprintf("r%d: op %d chain_from %d commit %d/%d", i, j.op, j.chainFrom,
		r.commitMin, r.commitMax)}
	for op := Op(1); op <= j.op; op++ {
		if !j.known(op) {
			lines = append(lines, fmt.Sprintf("op%d unknown", op))
			continue
		}
		hd := j.header(op)
		held := "held"
		if j.message(op) == nil {
			held = "missing"
		}
		trust := ""
		if !j.trusted(op) {
			trust = " untrusted"
		}
		lines = append(lines, fmt.Sprintf("op%d v%d %s %s%s", op, hd.View,
			harnessChecksum(hd.Checksum), held, trust))
	}
	return lines
}

// clientTableLines renders replica i's client table, by client.
func (h *harness) clientTableLines(i int) []string {
	r := h.replicas[i]
	if r == nil {
		return []string{fmt.Sprintf("r%d: down", i)}
	}
	entries := make([]clientEntry, 0, len(r.clients.byClient))
	for _, e := range r.clients.entries {
		if e.session != 0 {
			entries = append(entries, e)
		}
	}
	sort.Slice(entries, func(a, b int) bool {
		return h.clientName(entries[a].client) < h.clientName(entries[b].client)
	})
	lines := []string{fmt.Sprintf("r%d: %d of %d sessions", i, len(entries), r.clients.max)}
	for _, e := range entries {
		lines = append(lines, fmt.Sprintf("%s session %d request %d at op%d",
			h.clientName(e.client),
			e.session, e.request, e.commit))
	}
	return lines
}

// kvLines renders replica i's key-value state, by key.
func (h *harness) kvLines(i int) []string {
	if h.replicas[i] == nil {
		return []string{fmt.Sprintf("r%d: down", i)}
	}
	data := h.machines[i].data
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	line := fmt.Sprintf("r%d:", i)
	for _, k := range keys {
		line += fmt.Sprintf(" %s=%q", k, data[k])
	}
	if len(keys) == 0 {
		line += " empty"
	}
	return []string{line}
}

// settled reports whether every running replica is normal in one view with everything up
// to the primary's head executed, and every client idle.
func (h *harness) settled() bool {
	var view View
	first := true
	for _, r := range h.replicas {
		if r == nil {
			continue
		}
		if first {
			view, first = r.view, false
		}
		if r.status != StatusNormal || r.view != view || !r.Healthy() ||
			r.commitMin != r.commitMax {
			return false
		}
	}
	primary := h.replicas[h.config.primaryOf(view)]
	if primary == nil {
		return false
	}
	for _, r := range h.replicas {
		if r != nil && r.commitMin != primary.journal.op {
			return false
		}
	}
	for _, c := range h.clients {
		if c.Busy() {
			return false
		}
	}
	return true
}

// run lets n ticks pass on a network without delay: each tick of every node is followed
// by the delivery of everything in flight.
func (h *harness) run(n int) {
	for ; n > 0; n-- {
		h.tickAll(1)
		h.drain()
	}
}

// stabilize delivers everything in flight, round after round, and ticks every node once
// whenever nothing is in flight, until the cluster settles or maxTicks pass. It returns
// the ticks it took, and whether it settled.
func (h *harness) stabilize(maxTicks int) (int, bool) {
	const deliveriesMax = 1_000_000
	deliveries, ticks := 0, 0
	for {
		if len(h.inflight) > 0 {
			deliveries += h.deliverAll()
			if deliveries > deliveriesMax {
				panic("harness: stabilize delivered a million messages")
			}
			continue
		}
		if h.settled() {
			return ticks, true
		}
		if ticks == maxTicks {
			return ticks, false
		}
		h.tickAll(1)
		ticks++
	}
}

// Rendering messages: one stable line each.

// harnessNew starts a cluster for a Go test: the harness configuration, changed by change
// (if not nil), with a fixed seed.
func harnessNew(replicas, clients int, change func(*Config)) *harness {
	config := harnessConfig(replicas)
	if change != nil {
		change(&config)
	}
	return newHarness(config, clients, 1)
}

// settle stabilizes the cluster and fails the test if it does not settle.
func (h *harness) settle(t testing.TB) {
	t.Helper()
	if ticks, ok := h.stabilize(2000); !ok {
		t.Fatalf("the cluster did not settle in %d ticks:\n%s", ticks,
			strings.Join(h.statusLines(), "\n"))
	}
	h.flush()
}

func (h *harness) statusLines() []string {
	var lines []string
	for i := range h.replicas {
		lines = append(lines, h.statusLine(i))
	}
	return lines
}

// messages lists the messages in flight from source to target (-1: any) of a command.
func (h *harness) messages(source, target int, command Command) []harnessMessage {
	var out []harnessMessage
	for _, m := range h.inflight {
		if (source == -1 || m.source == source) && (target == -1 || m.target == target) &&
			m.command == command {
			out = append(out, m)
		}
	}
	return out
}

// sent lists what source has in flight, as described lines, for failure messages.
func (h *harness) sent(source int) []string {
	var out []string
	for _, m := range h.inflight {
		if m.source == source {
			out = append(out, h.describe(m.source, m.target, m.data))
		}
	}
	return out
}

// decode decodes a message in flight with a decoder of its own.
func (h *harness) decode(t testing.TB, m harnessMessage) *Decoder {
	t.Helper()
	d := NewDecoder(h.config.Cluster, h.config.Replicas)
	if _, err := d.Decode(m.data); err != nil {
		t.Fatalf("message in flight does not decode: %v", err)
	}
	return d
}

// deliverOne delivers exactly one message in flight and fails if there is none.
func (h *harness) deliverOne(t testing.TB, source, target int, command Command) {
	t.Helper()
	if h.deliver(source, target, []Command{command}, 1) != 1 {
		t.Fatalf("no %v from %s to %s in flight", command, h.nameOrAny(source), h.nameOrAny(target))
	}
}

func (h *harness) nameOrAny(node int) string {
	if node == -1 {
		return "*"
	}
	return h.name(node)
}

func (h *harness) encoder() *Encoder { return NewEncoder(h.config.Cluster) }

// svc is a start_view_change of a view from a replica, encoded.
func (h *harness) svc(from ReplicaIndex, view View) []byte {
	m := StartViewChange{Replica: from, View: view}
	return append([]byte(nil), h.encoder().StartViewChange(&m)...)
}

// harnessRegisterBatch is the body of a prepare that registers one client.
func harnessRegisterBatch(client ClientID) []byte {
	return appendBatchEntry(nil, &Request{Client: client, Operation: OperationRegister})
}

// harnessChainLink is one prepare of a chain a test builds: its view and the client it
// registers (to vary the bodies, hence the checksums).
type harnessChainLink struct {
	view   View
	client ClientID
}

// chain builds prepares that extend parent (the header at op from-1) one op per link,
// each from the primary of its view, committing the op before it; it returns the headers
// and the messages.
func (h *harness) chain(parent PrepareHeader,
	links []harnessChainLink) ([]PrepareHeader, [][]byte) {
	enc := h.encoder()
	var headers []PrepareHeader
	var messages [][]byte
	for _, link := range links {
		hd := PrepareHeader{Replica: h.config.primaryOf(link.view), View: link.view,
			Op: parent.Op + 1, Commit: parent.Op, Parent: parent.Checksum, Requests: 1,
			Timestamp: uint64(harnessEpoch) + uint64(parent.Op)}
		message := append([]byte(nil), enc.Prepare(&hd, harnessRegisterBatch(link.client))...)
		headers, messages = append(headers, hd), append(messages, message)
		parent = hd
	}
	return headers, messages
}
