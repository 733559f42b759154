package core

import "fmt"

// Config is every size and timeout of a cluster, validated once. All replicas and clients
// of a cluster must share it.
type Config struct {
	Cluster  uint64 // a random identity: messages of another cluster are rejected
	Replicas int

	PipelineMax     int // prepares in flight at the primary
	BatchMax        int // requests in one prepare
	RequestQueueMax int // requests waiting at the primary for room in the pipeline
	ClientTableMax  int // client sessions the cluster remembers
	MessageSizeMax  int // bound of every message, header included
	RepairMax       int // repair requests a replica has in flight
	JournalSlots    int // the journal's ring; 0: JournalSlotsDefault (storage.go)
	// CheckpointOps is the interval of checkpoints: a replica checkpoints its state after
	// executing every op that is a multiple of it (checkpoint.go). 0: CheckpointOpsDefault.
	CheckpointOps int
	// CheckpointSizeMax bounds a checkpoint (the client table and the state machine's
	// snapshot): the checkpoint zone holds two of it. 0: CheckpointSizeDefault.
	CheckpointSizeMax uint64

	HeartbeatTicks       uint64 // the primary's commit message interval
	PrimaryTimeoutTicks  uint64 // a backup's patience with a silent primary
	PrepareRetryTicks    uint64 // the primary resends prepares not yet acknowledged
	ViewChangeTicks      uint64 // a view change that has not finished moves to the next view
	RepairTicks          uint64 // interval of repair requests
	PingTicks            uint64 // replicas ping each other
	AbdicateTicks        uint64 // a primary that hears no quorum for this long steps down
	RecoveryTicks        uint64 // a recovering replica repeats its recovery
	ClientRequestTicks   uint64 // a client's first retry
	ClientRequestMax     uint64 // and its longest wait between retries
	ClientBroadcastAfter int    // after this many retries a client asks every replica

	Bugs Bug // deliberate defects, for testing the tester (bugs.go); zero in any real use
}

// DefaultConfig is the configuration for a cluster of the given size.
func DefaultConfig(cluster uint64, replicas int) Config {
	c := Config{
		Cluster: cluster, Replicas: replicas,
		PipelineMax: 8, BatchMax: 16, RequestQueueMax: 64, ClientTableMax: 32,
		MessageSizeMax: 1 << 16, RepairMax: 8,
		HeartbeatTicks: 10, PrimaryTimeoutTicks: 100, PrepareRetryTicks: 20,
		ViewChangeTicks: 150, RepairTicks: 10, PingTicks: 25, AbdicateTicks: 120,
		RecoveryTicks: 40, ClientRequestTicks: 40, ClientRequestMax: 640, ClientBroadcastAfter: 2,
	}
	// The defaults work for every cluster size a config allows.
	if replicas >= 1 && replicas <= ReplicasMax {
		if err := c.Validate(); err != nil {
			panic(fmt.Sprintf("core: the default config of %d replicas: %v", replicas, err))
		}
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > ReplicasMax:
		return fmt.Errorf("%d replicas: want 1 to %d", c.Replicas, ReplicasMax)
	case c.PipelineMax < 1 || c.PipelineMax >= HeadersMax:
		return fmt.Errorf("pipeline of %d: want 1 to %d", c.PipelineMax, HeadersMax-1)
	case c.JournalSlots < 0 || c.JournalSlots > 1<<30:
		return fmt.Errorf("journal of %d slots: want 0 (the default) to %d", c.JournalSlots, 1<<30)
	case c.CheckpointOps < 0 || c.CheckpointOps > 1<<24:
		return fmt.Errorf("checkpoint every %d ops: want 0 (the default) to %d", c.CheckpointOps, 1<<24)
	case c.journalSlots() < c.JournalSlotsMin() || c.journalSlots()%headersPerSector != 0:
		// A durable checkpoint trails the head by up to two intervals (one being written)
		// and a pipeline; the ring keeps that and a pipeline more for peers that lag.
		return fmt.Errorf("journal of %d slots: want a multiple of %d, at least %d (two checkpoint intervals of %d, two pipelines of %d and 2)",
			c.journalSlots(), headersPerSector, c.JournalSlotsMin(), c.checkpointOps(), c.PipelineMax)
	case c.CheckpointSizeMax > 1<<40:
		return fmt.Errorf("checkpoints of %d bytes: want 0 (the default) to %d", c.CheckpointSizeMax, uint64(1)<<40)
	case c.MessageSizeMax >= HeaderSize*(HeadersMax+1) && c.MessageSizeMax <= MessageSizeMax &&
		c.checkpointManifestSize() > c.MessageSizeMax:
		// A state transfer's manifest names every chunk's checksum in one message.
		return fmt.Errorf("checkpoints of %d bytes in chunks of %d: a manifest of %d bytes, over messages of %d",
			c.checkpointSizeMax(), c.checkpointChunk(), c.checkpointManifestSize(), c.MessageSizeMax)
	case c.BatchMax < 1 || c.RequestQueueMax < 1 || c.ClientTableMax < 1 || c.RepairMax < 1:
		return fmt.Errorf("batch %d, queue %d, client table %d, repair %d: each must be positive",
			c.BatchMax, c.RequestQueueMax, c.ClientTableMax, c.RepairMax)
	case c.MessageSizeMax < HeaderSize*(HeadersMax+1) || c.MessageSizeMax > MessageSizeMax:
		return fmt.Errorf("message size %d: want %d to %d", c.MessageSizeMax, HeaderSize*(HeadersMax+1), MessageSizeMax)
	case c.HeartbeatTicks == 0 || c.PrimaryTimeoutTicks <= 2*c.HeartbeatTicks:
		return fmt.Errorf("primary timeout %d must exceed two heartbeats of %d", c.PrimaryTimeoutTicks, c.HeartbeatTicks)
	case c.PrepareRetryTicks == 0 || c.ViewChangeTicks == 0 || c.RepairTicks == 0 ||
		c.PingTicks == 0 || c.AbdicateTicks == 0 || c.RecoveryTicks == 0:
		return fmt.Errorf("every timeout must be positive")
	case c.ClientRequestTicks == 0 || c.ClientRequestMax < c.ClientRequestTicks:
		return fmt.Errorf("client timeouts %d to %d", c.ClientRequestTicks, c.ClientRequestMax)
	}
	// What follows for the rest of core: a view change's window (the pipeline and the op
	// below it) fits in one message.
	assert(HeaderSize*(1+c.PipelineMax+1) <= c.MessageSizeMax)
	return nil
}

// JournalSlotsMin is the smallest ring this config's checkpoints and pipeline allow.
// (A ring is whole header sectors: a multiple of JournalSlotsUnit.)
func (c *Config) JournalSlotsMin() int {
	least := 2*int(c.checkpointOps()) + 2*c.PipelineMax + 2
	return (least + JournalSlotsUnit - 1) / JournalSlotsUnit * JournalSlotsUnit
}

// JournalSlotsUnit is what a ring's size is a multiple of: the headers of a sector.
const JournalSlotsUnit = headersPerSector

// ReplicasMax bounds the cluster: the primary tracks acknowledgements in a bitset.
const ReplicasMax = 16

// QuorumReplication is how many replicas must hold a prepare before it commits: a majority.
func (c *Config) QuorumReplication() int {
	assert(c.Replicas >= 1)
	assert(c.Replicas <= ReplicasMax)
	quorum := c.Replicas/2 + 1
	// Any two replication quorums meet: two primaries cannot commit different prepares at
	// one op, each with a quorum that never heard of the other's.
	assert(2*quorum > c.Replicas)
	assert(quorum <= c.Replicas) // and the cluster can form one with every replica up
	return quorum
}

// QuorumViewChange is how many replicas a view change hears from. Any view-change quorum
// meets any replication quorum, so it sees every committed op.
func (c *Config) QuorumViewChange() int {
	replication := c.QuorumReplication()
	quorum := c.Replicas - replication + 1
	assert(quorum+replication > c.Replicas)
	// No larger than a replication quorum: whatever can commit can also change views.
	assert(quorum >= 1)
	assert(quorum <= replication)
	return quorum
}

// primaryOf is the primary of a view.
func (c *Config) primaryOf(v View) ReplicaIndex {
	// A validated size: every index fits a ReplicaIndex and names a replica.
	assert(c.Replicas >= 1)
	assert(c.Replicas <= ReplicasMax)
	return ReplicaIndex(uint64(v) % uint64(c.Replicas))
}
