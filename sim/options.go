package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// Profile chooses how a seed's options are drawn.
type Profile uint8

const (
	ProfileSwarm       Profile = iota // every knob drawn from the seed, some fault classes off
	ProfileCalm                       // no faults; shape and workload drawn from the seed
	ProfilePerformance                // no faults, a fixed cluster and workload, for speed
)

var profileNames = []string{"swarm", "calm", "performance"}

func (p Profile) String() string { return profileNames[p] }

// ParseProfile reads a profile's name.
func ParseProfile(text string) (Profile, error) {
	for i, name := range profileNames {
		if name == text {
			return Profile(i), nil
		}
	}
	return 0, fmt.Errorf("unknown profile %q: want swarm, calm or performance", text)
}

// Limits of the cluster shape.
const (
	ReplicasMax = 6
	ClientsMax  = 64
	RequestsMax = 10_000_000
	KeysMax     = 1 << 16
)

// Options are everything a run depends on besides the seed. Each field is a knob in
// knobs.go: that table names it, bounds it, draws it for the swarm profile and renders it.
type Options struct {
	Replicas int
	Clients  int
	Requests int // client requests in the whole run
	Keys     int // size of the workload's key space

	RequestMeanTicks   uint64 // a client's think time between requests
	TicksMax           uint64 // bound of the safety phase
	LivenessTicksMax   uint64 // bound of the liveness phase
	LivenessCoreExtras int    // replicas in the liveness core beyond a replication quorum

	PipelineMax    int // prepares in flight at the primary
	BatchMax       int // requests per prepare
	ClientTableMax int // client sessions the cluster keeps; fewer than clients forces evictions
	CheckpointOps  int // ops between checkpoints (core.Config.CheckpointOps)
	JournalSlots   int // the journal's ring (core.Config.JournalSlots)

	Network simnet.Options // Processes and Partitionable follow from the shape

	ClockSkewMaxMs   int64 // each process's wall clock starts off by up to ± this
	ClockDriftMaxPPM int64 // and drifts by up to ± this
	ClockJumpMaxMs   int64 // one replica's clock steps by up to ± this once; 0: never

	CrashProbability   entropy.Ratio // per tick per running replica
	RestartProbability entropy.Ratio // per tick per crashed replica past crashStableTicks
	CrashStableTicks   uint64        // least time a crashed replica stays down
	PauseProbability   entropy.Ratio // per tick per running replica
	PauseMeanTicks     uint64        // mean length of a pause
	// The primary crashes the moment a replica has recovered its state from it: the
	// recovered replica may have acked ops it now holds only the headers of (processes.go).
	CrashAfterRecoveryProbability entropy.Ratio
	CrashAfterVoteProbability     entropy.Ratio

	// Every replica's disk: latency and faults (simstorage.Options; nodes.go builds the
	// disks from it). Faults the atlas governs never hit one chunk on a replication quorum.
	Storage simstorage.Options
	// A restarting replica comes back on a new, empty disk and recovers its state from its
	// peers; the scheduler never wipes more than the wipe budget (processes.go).
	WipeProbability entropy.Ratio
	// Every replica crashes at once, per tick: a power loss (processes.go, restartFromDisk).
	ClusterCrashProbability entropy.Ratio
}

// Validate reports the first knob out of range, by name.
func (o *Options) Validate() error {
	for _, k := range o.knobs() {
		if err := k.check(); err != nil {
			return fmt.Errorf("%s (--%s): %v", k.name, k.flagName(), err)
		}
	}
	// The knobs' own checks cover the disk's; this is the disk's word on it, in case not.
	if err := o.Storage.Validate(); err != nil {
		return fmt.Errorf("storage: %v", err)
	}
	return nil
}

// processes is the number of simulated processes: replicas first, then clients.
func (o *Options) processes() int { return o.Replicas + o.Clients }

// network returns the network options with the shape filled in.
func (o *Options) network() simnet.Options {
	n := o.Network
	n.Processes = o.processes()
	n.Partitionable = o.Replicas
	return n
}

// faultsOff turns off every fault knob and leaves shape, workload and delays.
func (o *Options) faultsOff() {
	for _, k := range o.knobs() {
		if k.class != classNone {
			k.off()
		}
	}
}
