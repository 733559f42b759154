package sim

import (
	"fmt"
	"strings"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/simnet"
)

// Protocol coverage: a fuzzer guided by Go branch coverage alone learns little from a whole
// cluster's run, whose branches the first few runs all take. What it should prize is a run
// that puts the cluster in a situation runs rarely reach: two replicas recovering while a
// view change has got as far as do_view_change, a full pipeline under a partition. So at the
// end of every tick the world sums up the cluster in two signatures, and tells
// RunConfig.Coverage each signature the first time the run reaches it; the fuzzer turns
// signatures into branches its coverage sees (fuzz_test.go).
//
// The situation (bit 63 clear) packs, low bits first:
//
//	bits  0-14  how many replicas are in each of the five roles (3 bits each, see roleNames)
//	bits 15-17  how far the view change under way has got: start_view_change,
//	            do_view_change, start_view received since the first replica left normal
//	bits 18-19  lag: how far the slowest running replica's execution is behind the
//	            furthest commit: none, within a pipeline, further
//
// The activity (bit 63 set):
//
//	bits  0-5   replicas, and how many of them are normal (3 bits each)
//	bit   6     repair: a replica received request_prepare, request_headers or headers
//	bits  7-8   the pipeline of the primary of the highest normal view: empty, in use,
//	            full, no primary
//	bit   9     a client's session was evicted
//	bit  10     the network is partitioned
//	bit  11     the liveness phase
//
// Only roles, counts and buckets go in, never views, ops or ticks, so the signatures are
// bounded by the shape of the cluster and not by the length of the run: a few thousand in
// all, a hundred or two per run. Two signatures and not one, because their product would
// make every run reach combinations no run had, and the fuzzer would keep every input.
type coverage struct {
	hook      func(signature uint64)
	seen      map[uint64]struct{}
	last      [2]uint64         // the previous tick's: most ticks repeat them
	received  [][traffic]uint64 // per replica, the traffic counts as of the previous tick
	progress  uint64            // view-change messages received since the view change began
	evictions uint64            // the workload's evictions as of the previous tick
}

// The roles a replica can be in at the end of a tick.
const (
	roleDown    = iota // crashed or paused: taking no part
	rolePrimary        // normal, and the primary of its view
	roleBackup         // normal, and not
	roleViewChange
	roleRecovering
	roleCount
)

var roleNames = [roleCount]string{"down", "primary", "backup", "view_change", "recovering"}

// The commands whose arrival a signature notes; the first three in the order of the
// progress bits they set.
const (
	trafficStartViewChange = iota
	trafficDoViewChange
	trafficStartView
	trafficRequestPrepare
	trafficRequestHeaders
	trafficHeaders
	traffic
)

var trafficCommands = [traffic]core.Command{
	core.CommandStartViewChange, core.CommandDoViewChange, core.CommandStartView,
	core.CommandRequestPrepare, core.CommandRequestHeaders, core.CommandHeaders,
}

const (
	signatureActivity = 1 << 63

	situationProgressShift = 15
	situationLagShift      = 18

	activityNormalShift    = 3
	activityRepairBit      = 1 << 6
	activityPipelineShift  = 7
	activityEvictionBit    = 1 << 9
	activityPartitionedBit = 1 << 10
	activityLivenessBit    = 1 << 11
)

func newCoverage(hook func(uint64), replicas int) *coverage {
	return &coverage{hook: hook, seen: make(map[uint64]struct{}),
		last: [2]uint64{^uint64(0), ^uint64(0)}, received: make([][traffic]uint64, replicas)}
}

// observe computes the tick's signatures and reports those the run has not reached yet.
func (c *coverage) observe(w *World) {
	situation, activity := c.signatures(w)
	c.report(0, situation)
	c.report(1, activity)
}

func (c *coverage) report(family int, signature uint64) {
	if signature == c.last[family] {
		return
	}
	c.last[family] = signature
	if _, ok := c.seen[signature]; ok {
		return
	}
	c.seen[signature] = struct{}{}
	c.hook(signature)
}

// tick is what the signatures are made of, gathered in one pass over the replicas.
type tick struct {
	roles                     [roleCount]uint64
	arrived                   [traffic]bool
	commitMax, commitMinLeast core.Op
	primary                   *core.Replica // of the highest normal view
}

func (c *coverage) signatures(w *World) (situation, activity uint64) {
	t := tick{commitMinLeast: ^core.Op(0)}
	for i, r := range w.replicas {
		role := c.role(w, i, r)
		t.roles[role]++
		if role == roleDown {
			continue
		}
		stats := r.Stats()
		for k, command := range trafficCommands {
			// A restarted replica starts its counts again: any change is traffic.
			if n := stats.Received[command]; n != c.received[i][k] {
				t.arrived[k], c.received[i][k] = true, n
			}
		}
		t.commitMax = max(t.commitMax, r.CommitMax())
		t.commitMinLeast = min(t.commitMinLeast, r.CommitMin())
		if role == rolePrimary && (t.primary == nil || r.View() > t.primary.View()) {
			t.primary = r
		}
	}
	return c.situation(w, &t), c.activity(w, &t)
}

func (c *coverage) situation(w *World, t *tick) uint64 {
	var s uint64
	for role, n := range t.roles {
		s |= min(n, 7) << (3 * role)
	}
	s |= c.viewChangeProgress(t) << situationProgressShift
	return s | lagBucket(t.commitMax, t.commitMinLeast, w.config.PipelineMax)<<situationLagShift
}

func (c *coverage) activity(w *World, t *tick) uint64 {
	s := uint64(signatureActivity) | min(uint64(len(w.replicas)), 7) |
		min(t.roles[rolePrimary]+t.roles[roleBackup], 7)<<activityNormalShift
	if a := &t.arrived; a[trafficRequestPrepare] || a[trafficRequestHeaders] || a[trafficHeaders] {
		s |= activityRepairBit
	}
	s |= pipelineBucket(t.primary, w.config.PipelineMax) << activityPipelineShift
	if w.workload.evicted != c.evictions {
		c.evictions = w.workload.evicted
		s |= activityEvictionBit
	}
	if w.kernel.Network().Partitioned() {
		s |= activityPartitionedBit
	}
	if w.phase == "liveness" {
		s |= activityLivenessBit
	}
	return s
}

func (c *coverage) role(w *World, i int, r *core.Replica) int {
	switch {
	case r == nil || w.kernel.State(simnet.Process(i)) != StateUp:
		return roleDown
	case r.Status() == core.StatusViewChange:
		return roleViewChange
	case r.Status() == core.StatusRecovering:
		return roleRecovering
	case r.IsPrimary():
		return rolePrimary
	}
	return roleBackup
}

// viewChangeProgress accumulates the view-change messages received while some replica is in
// a view change, and forgets them once none is: how far the current one has got.
func (c *coverage) viewChangeProgress(t *tick) uint64 {
	if t.roles[roleViewChange] == 0 {
		c.progress = 0
		return 0
	}
	for k := trafficStartViewChange; k <= trafficStartView; k++ {
		if t.arrived[k] {
			c.progress |= 1 << k
		}
	}
	return c.progress
}

func lagBucket(commitMax, commitMinLeast core.Op, pipelineMax int) uint64 {
	switch {
	case commitMinLeast >= commitMax:
		return 0
	case commitMax-commitMinLeast <= core.Op(pipelineMax):
		return 1
	}
	return 2
}

func pipelineBucket(primary *core.Replica, pipelineMax int) uint64 {
	switch {
	case primary == nil:
		return 3
	case primary.Op() <= primary.CommitMax():
		return 0
	case primary.Op()-primary.CommitMax() < core.Op(pipelineMax):
		return 1
	}
	return 2
}

// DescribeSignature renders a coverage signature in one line, for tests and logs.
func DescribeSignature(s uint64) string {
	var parts []string
	if s&signatureActivity != 0 {
		parts = append(parts, fmt.Sprintf("activity: replicas=%d normal=%d", s&7,
			s>>activityNormalShift&7))
		parts = appendFlags(parts, s, []flagName{{activityRepairBit, "repair"},
			{activityEvictionBit, "eviction"}, {activityPartitionedBit, "partitioned"},
			{activityLivenessBit, "liveness"}})
		pipeline := [...]string{"empty", "in-use", "full", "no-primary"}[s>>activityPipelineShift&3]
		return strings.Join(append(parts, "pipeline="+pipeline), " ")
	}
	parts = append(parts, "situation:")
	for role := 0; role < roleCount; role++ {
		if n := s >> (3 * role) & 7; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", roleNames[role], n))
		}
	}
	if p := s >> situationProgressShift & 7; p != 0 {
		parts = appendFlags(parts, p, []flagName{{1, "vc:svc"}, {2, "vc:dvc"}, {4, "vc:sv"}})
	}
	lag := [...]string{"none", "pipeline", "further", "?"}[s>>situationLagShift&3]
	return strings.Join(append(parts, "lag="+lag), " ")
}

type flagName struct {
	bit  uint64
	name string
}

// appendFlags appends the name of every flag set in s.
func appendFlags(parts []string, s uint64, flags []flagName) []string {
	for _, f := range flags {
		if s&f.bit != 0 {
			parts = append(parts, f.name)
		}
	}
	return parts
}
