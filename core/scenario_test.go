package core

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Scenario scripts: testdata/scenarios/*.txt at the repository root. A script is a list of
// commands, each followed by "----" and the exact output it must print, then a blank line:
//
//	# comments say what the script shows
//	submit c1 put x 1
//	----
//	c1->r0 request c1 register
//
// Outputs never hold a blank line; a command that prints nothing prints "ok". After a
// change in core, regenerate the outputs and review the diff:
//
//	go test ./core -run TestScenarios -rewrite
//
// -scenarios DIR runs the scripts of another directory.
//
// The commands (nodes are r0, r1, ... and c1, c2, ...; "*" is any node):
//
//	cluster replicas=N clients=M [seed=S] [pipeline=… batch=… queue=… client_table=…
//	        heartbeat=… primary_timeout=… prepare_retry=… view_change=… repair=… ping=…
//	        abdicate=… recovery=… client_request=… client_request_max=… broadcast_after=…]
//	                                first: a fresh cluster, every replica normal in view 0
//	tick [node|all] [n]             tick a node (default all nodes) n times (default 1)
//	deliver [from] [to] [n|all] [command…]
//	                                deliver what is in flight, in send order; what it sends
//	                                in turn is printed indented and waits
//	drop [from] [to] [n|all] [command…]      lose messages in flight
//	duplicate from to [command…]    put a copy of the next message right behind it
//	cut from to [command…]          lose every message from → to from now on (one way)
//	partition a b | c               cut every link between the groups, both ways
//	heal                            undo every cut and partition
//	crash rN / restart rN           a restarted replica lost everything: it recovers
//	submit cN get|put|append|cas key [value [expected]]
//	status | log rN | clients rN | kv rN | queue
//	stabilize [ticks] [quiet]       deliver, and tick when nothing is in flight, until
//	                                the cluster settles (bounded, default 2000 ticks);
//	                                quiet prints only how it ended
//	drain [quiet]                   deliver round after round until nothing is in flight,
//	                                without ticking
//	run ticks [verbose]             tick every node, then drain, ticks times: a network
//	                                without delay; prints events only, unless verbose
//	hide command… | show command…|all    leave deliveries of those commands unprinted
//	                                when nothing follows them (they are still delivered)
//
// A message line reads "source->target command fields…" (harnessDescribe); an event line
// says what changed in a node: its status and view, executed ops, a truncated log, a
// client's reply.

func init() {
	// Another test file of this package may define -rewrite too: define it only once.
	if flag.Lookup("rewrite") == nil {
		flag.Bool("rewrite", false, "rewrite the expected outputs of testdata scripts")
	}
}

// harnessScenarioDir is where TestScenarios finds its scripts: -scenarios runs others, say
// a script that shows a bug before it is fixed.
var harnessScenarioDir = flag.String("scenarios", "../testdata/scenarios",
	"directory of scenario scripts")

func harnessRewrite() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(*harnessScenarioDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scenarios in %s", *harnessScenarioDir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			harnessRunFile(t, file)
		})
	}
}

// TestScenariosAreDeterministic runs every script twice and compares the two outputs
// byte for byte, whatever the expected outputs say: a harness or a core that iterates a
// map or reads a clock would differ.
func TestScenariosAreDeterministic(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(*harnessScenarioDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		blocks, _, err := harnessParse(file, string(data))
		if err != nil {
			t.Fatal(err)
		}
		var runs [2][]string
		for i := range runs {
			var s harnessScript
			for _, b := range blocks {
				runs[i] = append(runs[i], s.run(t, fmt.Sprintf("%s:%d", file, b.line),
					b.command)...)
			}
		}
		if diff := cmp.Diff(runs[0], runs[1]); diff != "" {
			t.Errorf("%s: two runs differ (-first +second):\n%s", file, diff)
		}
	}
}

// harnessBlock is one command of a script: the comment lines before it, the command, and
// its expected output.
type harnessBlock struct {
	comments []string
	line     int // of the command
	command  string
	output   []string
}

// harnessParse reads a script.
func harnessParse(file, text string) ([]harnessBlock, []string, error) {
	var blocks []harnessBlock
	var comments []string
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			comments = append(comments, line)
			continue
		}
		b := harnessBlock{comments: comments, line: i + 1, command: strings.TrimSpace(line)}
		comments = nil
		if i+1 >= len(lines) || lines[i+1] != "----" {
			return nil, nil, fmt.Errorf("%s:%d: %q is not followed by ----", file, i+1, line)
		}
		for i += 2; i < len(lines) && lines[i] != ""; i++ {
			b.output = append(b.output, lines[i])
		}
		blocks = append(blocks, b)
	}
	return blocks, comments, nil
}

// harnessFormat writes a script back, with the given outputs.
func harnessFormat(blocks []harnessBlock, trailing []string) string {
	var b strings.Builder
	for _, block := range blocks {
		for _, c := range block.comments {
			b.WriteString(c + "\n")
		}
		b.WriteString(block.command + "\n----\n")
		for _, o := range block.output {
			b.WriteString(o + "\n")
		}
		b.WriteString("\n")
	}
	for _, c := range trailing {
		b.WriteString(c + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func harnessRunFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks, trailing, err := harnessParse(file, string(data))
	if err != nil {
		t.Fatal(err)
	}
	// After the first difference the rest usually follow from it: report a few only.
	const differencesMax = 5
	var s harnessScript
	differences := 0
	for i := range blocks {
		b := &blocks[i]
		got := s.run(t, fmt.Sprintf("%s:%d", file, b.line), b.command)
		if harnessRewrite() {
			b.output = got
			continue
		}
		if diff := cmp.Diff(b.output, got); diff != "" {
			differences++
			if differences <= differencesMax {
				t.Errorf("%s:%d: %s: output differs (-want +got):\n%s", file, b.line, b.command,
					diff)
			}
		}
	}
	if differences > differencesMax {
		t.Errorf("%s: %d more commands differ; regenerate with -rewrite to see them all",
			file, differences-differencesMax)
	}
	if harnessRewrite() {
		if err := os.WriteFile(file, []byte(harnessFormat(blocks, trailing)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// harnessScript runs a script's commands against one harness.
type harnessScript struct {
	h *harness
}

// run executes one command and returns its output. A malformed command, or a panic in the
// code under test, fails the test at the command's line.
func (s *harnessScript) run(t *testing.T, where, command string) (out []string) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: %s: panic: %v", where, command, p)
		}
	}()
	fields := strings.Fields(command)
	if fields[0] == "cluster" {
		h, err := harnessCluster(fields[1:])
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		s.h = h
		return []string{"ok"}
	}
	if s.h == nil {
		t.Fatalf("%s: the first command must be cluster", where)
	}
	if err := s.h.runCommand(fields[0], fields[1:]); err != nil {
		t.Fatalf("%s: %s: %v", where, command, err)
	}
	out = s.h.flush()
	if len(out) == 0 {
		out = []string{"ok"}
	}
	return out
}

// harnessConfigKeys are the settings a cluster command may change.
var harnessConfigKeys = []struct {
	name string
	set  func(c *Config, v uint64)
}{
	{"pipeline", func(c *Config, v uint64) { c.PipelineMax = int(v) }},
	{"batch", func(c *Config, v uint64) { c.BatchMax = int(v) }},
	{"queue", func(c *Config, v uint64) { c.RequestQueueMax = int(v) }},
	{"client_table", func(c *Config, v uint64) { c.ClientTableMax = int(v) }},
	{"repair_max", func(c *Config, v uint64) { c.RepairMax = int(v) }},
	{"heartbeat", func(c *Config, v uint64) { c.HeartbeatTicks = v }},
	{"primary_timeout", func(c *Config, v uint64) { c.PrimaryTimeoutTicks = v }},
	{"prepare_retry", func(c *Config, v uint64) { c.PrepareRetryTicks = v }},
	{"view_change", func(c *Config, v uint64) { c.ViewChangeTicks = v }},
	{"repair", func(c *Config, v uint64) { c.RepairTicks = v }},
	{"ping", func(c *Config, v uint64) { c.PingTicks = v }},
	{"abdicate", func(c *Config, v uint64) { c.AbdicateTicks = v }},
	{"recovery", func(c *Config, v uint64) { c.RecoveryTicks = v }},
	{"client_request", func(c *Config, v uint64) { c.ClientRequestTicks = v }},
	{"client_request_max", func(c *Config, v uint64) { c.ClientRequestMax = v }},
	{"broadcast_after", func(c *Config, v uint64) { c.ClientBroadcastAfter = int(v) }},
}

// harnessCluster builds the harness a cluster command describes.
func harnessCluster(args []string) (*harness, error) {
	replicas, clients, seed := 3, 1, uint64(1)
	var sets []func(*Config)
	for _, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		n, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("cluster: %q is not key=number", arg)
		}
		switch key {
		case "replicas":
			replicas = int(n)
		case "clients":
			clients = int(n)
		case "seed":
			seed = n
		default:
			found := false
			for _, k := range harnessConfigKeys {
				if k.name == key {
					set := k.set
					sets = append(sets, func(c *Config) { set(c, n) })
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("cluster: unknown setting %q", key)
			}
		}
	}
	config := harnessConfig(replicas)
	for _, set := range sets {
		set(&config)
	}
	if err := config.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %v", err)
	}
	return newHarness(config, clients, seed), nil
}

// runCommand executes one command other than cluster; its output goes to h.lines.
func (h *harness) runCommand(name string, args []string) error {
	switch name {
	case "tick":
		return h.commandTick(args)
	case "deliver", "drop", "duplicate", "cut":
		return h.commandNetwork(name, args)
	case "partition":
		return h.commandPartition(args)
	case "heal":
		h.heal()
		return nil
	case "crash", "restart":
		return h.commandCrash(name, args)
	case "submit":
		return h.commandSubmit(args)
	case "status":
		for i := range h.replicas {
			h.print("%s", h.statusLine(i))
		}
		for k := range h.clients {
			h.print("%s", h.clientLine(k))
		}
		return nil
	case "log", "clients", "kv":
		return h.commandShow(name, args)
	case "queue":
		h.commandQueue()
		return nil
	case "stabilize":
		return h.commandStabilize(args)
	case "drain":
		return h.commandDrain(args)
	case "run":
		return h.commandRun(args)
	case "hide", "show":
		return h.commandHide(name == "hide", args)
	}
	return fmt.Errorf("unknown command %q", name)
}

func (h *harness) commandTick(args []string) error {
	node, n := -1, 1
	for _, arg := range args {
		if v, err := strconv.Atoi(arg); err == nil {
			n = v
			continue
		}
		parsed, err := h.parseNode(arg)
		if err != nil {
			return err
		}
		node = parsed
	}
	if node == -1 {
		h.tickAll(n)
	} else {
		h.tickNode(node, n)
	}
	return nil
}

// harnessSelection is what deliver, drop, duplicate and cut select: [from] [to] [n|all]
// [command…].
type harnessSelection struct {
	source, target int
	limit          int
	commands       []Command
}

func (h *harness) parseSelection(args []string) (harnessSelection, error) {
	sel := harnessSelection{source: -1, target: -1}
	nodes := 0
	for _, arg := range args {
		if arg == "all" && nodes == 2 {
			continue
		}
		if n, err := strconv.Atoi(arg); err == nil {
			sel.limit = n
			continue
		}
		if command, ok := harnessParseCommand(arg); ok {
			sel.commands = append(sel.commands, command)
			continue
		}
		node, err := h.parseNode(arg)
		if err != nil {
			return sel, err
		}
		if nodes == 2 {
			return sel, fmt.Errorf("three nodes in %v", args)
		}
		if nodes == 0 {
			sel.source = node
		} else {
			sel.target = node
		}
		nodes++
	}
	return sel, nil
}

func harnessParseCommand(s string) (Command, bool) {
	for c := Command(1); c < commandCount; c++ {
		if c.String() == s {
			return c, true
		}
	}
	return 0, false
}

func (h *harness) commandNetwork(name string, args []string) error {
	sel, err := h.parseSelection(args)
	if err != nil {
		return err
	}
	switch name {
	case "deliver":
		if h.deliver(sel.source, sel.target, sel.commands, sel.limit) == 0 {
			h.print("nothing to deliver")
		}
	case "drop":
		for _, m := range h.drop(sel.source, sel.target, sel.commands, sel.limit) {
			h.print("dropped %s", h.describe(m.source, m.target, m.data))
		}
	case "duplicate":
		m, ok := h.duplicate(sel.source, sel.target, sel.commands)
		if !ok {
			return fmt.Errorf("nothing in flight to duplicate")
		}
		h.print("duplicated %s", h.describe(m.source, m.target, m.data))
	case "cut":
		if lost := h.cut(sel.source, sel.target, sel.commands); lost > 0 {
			h.print("lost %d in flight", lost)
		}
	}
	return nil
}

func (h *harness) commandPartition(args []string) error {
	groups := [][]int{nil}
	for _, arg := range args {
		if arg == "|" {
			groups = append(groups, nil)
			continue
		}
		node, err := h.parseNode(arg)
		if err != nil || node == -1 {
			return fmt.Errorf("partition: %q is not a node", arg)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], node)
	}
	if len(groups) < 2 {
		return fmt.Errorf("partition needs groups separated by |")
	}
	if lost := h.partition(groups); lost > 0 {
		h.print("lost %d in flight", lost)
	}
	return nil
}

func (h *harness) commandCrash(name string, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s rN", name)
	}
	node, err := h.parseNode(args[0])
	if err != nil || node == -1 || !h.isReplica(node) {
		return fmt.Errorf("%s: %q is not a replica", name, args[0])
	}
	if name == "crash" {
		if h.replicas[node] == nil {
			return fmt.Errorf("r%d is down already", node)
		}
		if lost := h.crash(node); lost > 0 {
			h.print("lost %d in flight to r%d", lost, node)
		}
		return nil
	}
	if h.replicas[node] != nil {
		return fmt.Errorf("r%d is running", node)
	}
	h.restart(node)
	return nil
}

func (h *harness) commandSubmit(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("submit cN op key [value [expected]]")
	}
	node, err := h.parseNode(args[0])
	if err != nil || node == -1 || h.isReplica(node) {
		return fmt.Errorf("submit: %q is not a client", args[0])
	}
	in := KVInput{Key: args[2]}
	for op := KVGet; op <= KVCas; op++ {
		if op.String() == args[1] {
			in.Op = op
		}
	}
	if in.Op == 0 {
		return fmt.Errorf("submit: unknown operation %q", args[1])
	}
	if len(args) > 3 {
		in.Value = args[3]
	}
	if len(args) > 4 {
		in.Expected = args[4]
	}
	return h.submit(ClientID(node-h.config.Replicas+1), in)
}

func (h *harness) commandShow(name string, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s rN", name)
	}
	node, err := h.parseNode(args[0])
	if err != nil || node == -1 || !h.isReplica(node) {
		return fmt.Errorf("%s: %q is not a replica", name, args[0])
	}
	var lines []string
	switch name {
	case "log":
		lines = h.logLines(node)
	case "clients":
		lines = h.clientTableLines(node)
	case "kv":
		lines = h.kvLines(node)
	}
	for _, l := range lines {
		h.print("%s", l)
	}
	return nil
}

// commandQueue lists what is in flight, hidden commands as counts.
func (h *harness) commandQueue() {
	var hidden [commandCount]int
	for _, m := range h.inflight {
		if h.hidden[m.command] {
			hidden[m.command]++
			continue
		}
		h.print("%s", h.describe(m.source, m.target, m.data))
	}
	var counts []string
	for c := range hidden {
		if hidden[c] > 0 {
			counts = append(counts, fmt.Sprintf("%d %v", hidden[c], Command(c)))
		}
	}
	if len(counts) > 0 {
		h.print("hidden: %s", strings.Join(counts, ", "))
	}
	if len(h.inflight) == 0 {
		h.print("nothing in flight")
	}
}

func (h *harness) commandStabilize(args []string) error {
	maxTicks, quiet := 2000, false
	for _, arg := range args {
		if arg == "quiet" {
			quiet = true
			continue
		}
		n, err := strconv.Atoi(arg)
		if err != nil {
			return fmt.Errorf("stabilize [ticks] [quiet]")
		}
		maxTicks = n
	}
	mark := len(h.lines)
	ticks, ok := h.stabilize(maxTicks)
	if quiet {
		h.lines = h.lines[:mark]
	}
	if ok {
		h.print("settled after %d ticks", ticks)
	} else {
		h.print("not settled after %d ticks", ticks)
	}
	return nil
}

// commandDrain delivers round after round until nothing is in flight, without ticking.
func (h *harness) commandDrain(args []string) error {
	if len(args) > 1 || (len(args) == 1 && args[0] != "quiet") {
		return fmt.Errorf("drain [quiet]")
	}
	mark := len(h.lines)
	delivered := h.drain()
	if len(args) == 1 {
		h.lines = h.lines[:mark]
	}
	h.print("delivered %d", delivered)
	return nil
}

// commandRun runs n ticks, delivering after each; it prints events only, unless verbose.
func (h *harness) commandRun(args []string) error {
	n, verbose := -1, false
	for _, arg := range args {
		if arg == "verbose" {
			verbose = true
			continue
		}
		v, err := strconv.Atoi(arg)
		if err != nil || n != -1 {
			return fmt.Errorf("run ticks [verbose]")
		}
		n = v
	}
	if n < 0 {
		return fmt.Errorf("run ticks [verbose]")
	}
	h.eventsOnly = !verbose
	h.run(n)
	h.eventsOnly = false
	return nil
}

func (h *harness) commandHide(hide bool, args []string) error {
	for _, arg := range args {
		if arg == "all" {
			for c := range h.hidden {
				h.hidden[c] = hide
			}
			continue
		}
		command, ok := harnessParseCommand(arg)
		if !ok {
			return fmt.Errorf("unknown command %q", arg)
		}
		h.hidden[command] = hide
	}
	return nil
}
