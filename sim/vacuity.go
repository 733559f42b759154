package sim

import "github.com/vsrsim/vsrsim/simnet"

// Vacuity says whether a run proved anything: a run that committed nothing, or whose
// options enabled fault classes of which none ever struck, shows little (checkers.md).
type Vacuity struct {
	Committed uint64            `json:"committed"`
	Enabled   []string          `json:"faults_enabled"` // classes the options switched on
	Injected  map[string]uint64 `json:"faults_injected"`
	Silent    []string          `json:"faults_silent"` // enabled, yet never injected
	Vacuous   bool              `json:"vacuous"`
	// Mechanisms counts what the run made the replicas do beyond normal operation, so a
	// swarm can say how often each was reached: checkpoints made durable, state transfers,
	// and laps of the journal's ring (canonical ops over its slots).
	Mechanisms map[string]uint64 `json:"mechanisms"`
}

// faultCount is how a fault class shows in the stats.
var faultCounts = []struct {
	class   faultClass
	enabled func(o *Options) bool
	count   func(s *Stats) uint64
}{
	{classLoss, func(o *Options) bool { return !o.Network.LossProbability.IsZero() },
		func(s *Stats) uint64 { return s.Network.DroppedLoss }},
	{classDuplicate, func(o *Options) bool { return !o.Network.DuplicateProbability.IsZero() },
		func(s *Stats) uint64 { return s.Network.Duplicated }},
	{classCorrupt, func(o *Options) bool { return !o.Network.CorruptProbability.IsZero() },
		func(s *Stats) uint64 { return s.Network.Corrupted }},
	{classMisroute, func(o *Options) bool { return !o.Network.MisrouteProbability.IsZero() },
		func(s *Stats) uint64 { return s.Network.Misrouted }},
	{classCapacity, func(o *Options) bool { return o.Network.LinkCapacity < simnet.LinkCapacityMax },
		func(s *Stats) uint64 { return s.Network.DroppedOverflow }},
	{classClog, func(o *Options) bool { return !o.Network.ClogProbability.IsZero() && o.Network.ClogMeanTicks > 0 },
		func(s *Stats) uint64 { return s.Network.Clogs }},
	{classPartition, func(o *Options) bool {
		return o.Network.PartitionMode != simnet.PartitionNone && !o.Network.PartitionProbability.IsZero() && o.Replicas > 1
	}, func(s *Stats) uint64 { return s.Network.Partitions }},
	{classClockSkew, func(o *Options) bool { return o.ClockSkewMaxMs > 0 || o.ClockDriftMaxPPM > 0 },
		func(s *Stats) uint64 { return uint64(s.Clock.MaxSkewMs) }},
	{classClockJump, func(o *Options) bool { return o.ClockJumpMaxMs > 0 },
		func(s *Stats) uint64 { return s.Clock.Jumps }},
	{classCrash, func(o *Options) bool { return !o.CrashProbability.IsZero() && (o.Replicas-1)/2 > 0 },
		func(s *Stats) uint64 { return s.Crashes }},
	{classPause, func(o *Options) bool { return !o.PauseProbability.IsZero() && (o.Replicas-1)/2 > 0 },
		func(s *Stats) uint64 { return s.Pauses }},
	// The atlas lets a fault hit a chunk on quorum−1 replicas: none with one replica.
	{classBitRot, func(o *Options) bool { return !o.Storage.BitRotProbability.IsZero() && o.Replicas > 1 },
		func(s *Stats) uint64 { return s.Storage.BitRot }},
	{classReadError, func(o *Options) bool { return !o.Storage.ReadErrorProbability.IsZero() && o.Replicas > 1 },
		func(s *Stats) uint64 { return s.Storage.ReadErrors }},
	{classMisdirectWrite, func(o *Options) bool {
		return !o.Storage.MisdirectWriteProbability.IsZero() && o.Replicas > 1
	}, func(s *Stats) uint64 { return s.Storage.MisdirectedWrites }},
	{classMisdirectRead, func(o *Options) bool {
		return !o.Storage.MisdirectReadProbability.IsZero() && o.Replicas > 1
	}, func(s *Stats) uint64 { return s.Storage.MisdirectedReads }},
	// Torn writes need a crash with writes in flight.
	{classTornWrite, func(o *Options) bool { return !o.Storage.TornWriteProbability.IsZero() && crashes(o) },
		func(s *Stats) uint64 { return s.Storage.TornWrites }},
	{classWipe, func(o *Options) bool { return !o.WipeProbability.IsZero() && crashes(o) && (o.Replicas-1)/2 > 0 },
		func(s *Stats) uint64 { return s.Wipes }},
	{classClusterCrash, func(o *Options) bool { return !o.ClusterCrashProbability.IsZero() },
		func(s *Stats) uint64 { return s.ClusterCrashes }},
}

// crashes reports whether the options let replicas crash at all.
func crashes(o *Options) bool {
	single := !o.CrashProbability.IsZero() && ((o.Replicas-1)/2 > 0 || restartFromDisk)
	return single || !o.ClusterCrashProbability.IsZero()
}

// vacuity sums up what the run exercised.
func vacuity(o *Options, s *Stats) Vacuity {
	v := Vacuity{Committed: s.RequestsCommitted, Injected: map[string]uint64{}, Enabled: []string{}, Silent: []string{},
		Mechanisms: map[string]uint64{"checkpoints": s.Checkpoints, "state_transfers": s.StateTransfers}}
	if o.JournalSlots > 0 {
		v.Mechanisms["ring_laps"] = s.OpsCommitted / uint64(o.JournalSlots)
	}
	for _, f := range faultCounts {
		if !f.enabled(o) {
			continue
		}
		name := faultClassNames[f.class]
		v.Enabled = append(v.Enabled, name)
		v.Injected[name] = f.count(s)
		if v.Injected[name] == 0 {
			v.Silent = append(v.Silent, name)
		}
	}
	v.Vacuous = v.Committed == 0 || (len(v.Enabled) > 0 && len(v.Silent) == len(v.Enabled))
	return v
}
