package core

import (
	"fmt"
	"math/bits"

	"github.com/vsrsim/vsrsim/entropy"
)

// MessageBus is how a replica or client sends: the simulator's network, or TCP in a real
// deployment. The bytes are valid only during the call; the bus copies what it keeps.
type MessageBus interface {
	SendToReplica(replica ReplicaIndex, message []byte)
	SendToClient(client ClientID, message []byte)
}

// Clock is how a replica reads time: nanoseconds on a clock that never jumps, and on the
// wall clock (which may be skewed and may jump).
type Clock interface {
	Monotonic() int64
	Realtime() int64
}

// Replica is one member of a VSR cluster, sans-IO: the driver calls Tick once per tick and
// Receive once per message, and the replica answers through its MessageBus. It never
// returns an error: what is invalid, stale or irrelevant is counted and dropped, and a
// broken invariant panics (assertions are always on).
type Replica struct {
	config Config
	index  ReplicaIndex
	bus    MessageBus
	clock  Clock
	rand   *entropy.Rand
	sm     StateMachine
	enc    *Encoder
	dec    *Decoder

	status    Status
	view      View
	logView   View // the last view in which this replica was normal
	journal   *journal
	commitMin Op // executed
	commitMax Op // known to be committed; commitMin ≤ commitMax

	commitMaxChecksum Checksum     // of the prepare at commitMax, when known from a commit
	root              rootState    // durable: every copy of it completed (durability.go)
	disk              storageState // the writes in flight, and what they write
	checkpoint        checkpointState
	sync              syncState   // a state transfer in progress (sync.go)
	peers             []peerOffer // what each peer's last ping offered (sync.go)
	// stateMissing: restarted without the state its checkpoint held (unreadable): the log
	// floor and commitMin are the checkpoint's, the state machine and client table empty
	// until a state transfer installs one. Invariant: never executes meanwhile.
	stateMissing bool
	restoredAt   Op // the op the state was last restored at (0: built from the root)
	clients      *clientTable
	// The log's head when the log view was installed (becomeNormal), for the root (root.go).
	headInstalled         Op
	headInstalledChecksum Checksum
	headInstalledWindow   []PrepareHeader // the trusted window ending there (rootState.Window)
	// headUncertain: restarted from a disk that cannot prove where the log ends (restart.go):
	// no do_view_change until a log is installed over it. Invariant: only in a view change.
	headUncertain bool
	opening       *opening  // while the disk is read back at start-up (open.go), else nil
	opened        openStats // what the opening found, for the tests

	primary    primaryState
	viewChange viewChangeState
	recovery   recoveryState
	acked      [HeadersMax]PrepareOk // prepare_oks sent in this view, by op mod HeadersMax
	waiting    waitingPrepares       // prepares of this view ahead of the log's head
	windowBuf  []PrepareHeader       // scratch for the window of headers a view change sends

	ticks        uint64
	heard        []uint64 // tick at which each replica was last heard in this view
	timeoutLimit [timeoutCount]timeout
	output       []byte // scratch for state machine output
	received     []byte // the message being handled, valid during Receive
	stats        ReplicaStats
}

// Timeouts of a replica, by name.
const (
	timeoutHeartbeat      = iota // primary: send a commit
	timeoutPrimary               // backup: the primary has been silent too long
	timeoutPrepareRetry          // primary: resend unacknowledged prepares
	timeoutViewChange            // view change: give up on this view
	timeoutViewChangeSend        // view change: resend start_view_change / do_view_change
	timeoutRepair                // ask for what the log misses
	timeoutPing                  // ping the other replicas
	timeoutRecovery              // recovering: ask again
	timeoutCount
)

// ReplicaStats counts what a replica did and what it dropped, by reason.
type ReplicaStats struct {
	Received          [commandCount]uint64
	Invalid           uint64 // failed to decode: corrupted, misrouted to the wrong cluster, malformed
	Dropped           uint64 // decoded but irrelevant: stale view, wrong role, duplicate
	Committed         uint64 // ops executed
	RequestsExecuted  uint64 // client requests run through the state machine
	ViewsStarted      uint64 // views this replica started as primary
	Recoveries        uint64 // recoveries completed
	Restarts          uint64 // restarts from this replica's own disk (restart.go)
	HeadersRewritten  uint64 // header sectors written again: the read-back did not match
	PreparesRewritten uint64 // prepares written again: the read-back did not find them intact
	Checkpoints       uint64 // checkpoints made durable (checkpoint.go)
	StateTransfers    uint64 // checkpoints installed from peers (sync.go)
	// CheckpointChunksRewritten counts checkpoint chunks written again: the read-back did
	// not find them intact.
	CheckpointChunksRewritten uint64
}

// NewReplica builds replica index of a cluster, on its storage. A replica that starts fresh
// joins view 0 with an empty log and writes its root; one that restarts after losing its
// state (recovering) must first learn the cluster's state from the others (VRR §4.3). It
// reads nothing back: OpenReplica (open.go) restarts a replica from what its storage holds.
func NewReplica(config Config, index ReplicaIndex, sm StateMachine, bus MessageBus, clock Clock,
	rand *entropy.Rand, storage Storage, recovering bool) *Replica {
	r := newReplica(config, index, sm, bus, clock, rand, storage)
	if recovering {
		r.status = StatusRecovering // no role yet
		r.startRecovery()
	} else {
		r.becomeNormal(0)
	}
	r.flushStorage()
	r.invariants()
	return r
}

// newReplica builds a replica with an empty log and no role yet: NewReplica and
// OpenReplica (open.go) give it one.
func newReplica(config Config, index ReplicaIndex, sm StateMachine, bus MessageBus, clock Clock,
	rand *entropy.Rand, storage Storage) *Replica {
	if err := config.Validate(); err != nil {
		panic(fmt.Sprintf("core: invalid config: %v", err))
	}
	if int(index) >= config.Replicas {
		panic(fmt.Sprintf("core: replica %d of %d", index, config.Replicas))
	}
	r := &Replica{config: config, index: index, bus: bus, clock: clock, rand: rand, sm: sm,
		enc: newCheckedEncoder(&config, int(index)), dec: NewDecoder(config.Cluster, config.Replicas),
		clients: newClientTable(config.ClientTableMax), heard: make([]uint64, config.Replicas),
		peers: make([]peerOffer, config.Replicas)}
	if storage == nil {
		panic("core: a replica needs storage")
	}
	r.disk.storage = storage
	root, rootMessage := RootPrepare(config.Cluster)
	r.journal = newJournal(root, rootMessage)
	r.initTimeouts()
	r.status = StatusOpening
	assert(r.view == 0 && r.journal.op == 0)
	return r
}

// RootPrepare is op 0 of every log of a cluster: the anchor of the hash chain. It depends
// on the cluster alone, so logs of different clusters never link.
func RootPrepare(cluster uint64) (PrepareHeader, []byte) {
	var h PrepareHeader
	w := wire{command: CommandPrepare}
	message := NewEncoder(cluster).seal(&w, nil)
	h.fromWire(&w)
	// The root is the header of its own message, at op 0 of view 0, without a body.
	assert(h.Op == 0 && h.View == 0 && h.Size == HeaderSize && len(message) == HeaderSize)
	assert(getChecksum(message) == h.Checksum && !h.Checksum.IsZero())
	return h, append([]byte(nil), message...)
}

func (r *Replica) initTimeouts() {
	c := &r.config
	r.timeoutLimit = [timeoutCount]timeout{
		timeoutHeartbeat:      newTimeout("heartbeat", c.HeartbeatTicks),
		timeoutPrimary:        newTimeout("primary", c.PrimaryTimeoutTicks),
		timeoutPrepareRetry:   newTimeout("prepare_retry", c.PrepareRetryTicks),
		timeoutViewChange:     newTimeout("view_change", c.ViewChangeTicks),
		timeoutViewChangeSend: newTimeout("view_change_send", c.RepairTicks),
		timeoutRepair:         newTimeout("repair", c.RepairTicks),
		timeoutPing:           newTimeout("ping", c.PingTicks),
		timeoutRecovery:       newTimeout("recovery", c.RecoveryTicks),
	}
	r.timeoutLimit[timeoutViewChange].max = c.ViewChangeTicks * 8
	r.timeoutLimit[timeoutRepair].start()
	r.timeoutLimit[timeoutPing].start()
}

func (r *Replica) timer(which int) *timeout { return &r.timeoutLimit[which] }

// Tick advances the replica by one tick and fires what is due.
func (r *Replica) Tick() {
	assert(r.received == nil) // not called from inside Receive (through the bus)
	if r.opening != nil {
		r.invariants()
		return // no time passes for a replica not yet in the protocol
	}
	r.ticks++
	for i := range r.timeoutLimit {
		r.timeoutLimit[i].tick()
	}
	r.onTimeouts()
	r.flushStorage()
	r.invariants()
}

func (r *Replica) onTimeouts() {
	if t := r.timer(timeoutPing); t.fired() {
		r.sendPings()
		t.reset()
	}
	switch r.status {
	case StatusNormal:
		if r.isPrimary() {
			r.primaryTimeouts()
		} else if t := r.timer(timeoutPrimary); t.fired() {
			r.startViewChange(r.view + 1)
		}
	case StatusViewChange:
		r.viewChangeTimeouts()
	case StatusRecovering:
		if t := r.timer(timeoutRecovery); t.fired() {
			r.sendRecovery()
			t.backoff(r.rand)
		}
	}
	if t := r.timer(timeoutRepair); t.fired() {
		r.repair()
		t.jitter(r.rand)
	}
}

// Receive handles one message. The bytes are valid only during the call.
func (r *Replica) Receive(data []byte) {
	if r.opening != nil {
		r.drop() // not yet in the protocol: as if it arrived before the process was up
		return
	}
	command, err := r.dec.Decode(data)
	if err != nil {
		r.stats.Invalid++
		return
	}
	assert(command > CommandReserved && command < commandCount)
	// A handler never receives another message before it returns: the bus does not call
	// back into the replica, so the bytes of the message being handled stay its own.
	assert(r.received == nil)
	r.stats.Received[command]++
	r.received = data
	r.dispatch(command)
	r.received = nil
	r.flushStorage()
	r.invariants()
}

func (r *Replica) dispatch(command Command) {
	assert(len(r.received) >= HeaderSize) // onPrepare keeps these bytes as the prepare
	d := r.dec
	switch command {
	case CommandRequest:
		r.onRequest(&d.Request)
	case CommandPrepare:
		r.onPrepare(&d.Prepare)
	case CommandPrepareOk:
		r.onPrepareOk(&d.PrepareOk)
	case CommandCommit:
		r.onCommit(&d.Commit)
	case CommandStartViewChange:
		r.onStartViewChange(&d.StartViewChange)
	case CommandDoViewChange:
		r.onDoViewChange(&d.DoViewChange)
	case CommandStartView:
		r.onStartView(&d.StartView)
	case CommandRequestStartView:
		r.onRequestStartView(&d.RequestStartView)
	case CommandRecovery:
		r.onRecovery(&d.Recovery)
	case CommandRecoveryResponse:
		r.onRecoveryResponse(&d.RecoveryResponse)
	case CommandRequestPrepare:
		r.onRequestPrepare(&d.RequestPrepare)
	case CommandRequestHeaders:
		r.onRequestHeaders(&d.RequestHeaders)
	case CommandHeaders:
		r.onHeaders(&d.Headers)
	case CommandPing:
		r.onPing(&d.Ping)
	case CommandPong:
		r.onPong(&d.Pong)
	case CommandRequestCheckpoint:
		r.onRequestCheckpoint(&d.RequestCheckpoint)
	case CommandCheckpointManifest:
		r.onCheckpointManifest(&d.CheckpointManifest)
	case CommandCheckpointChunk:
		r.onCheckpointChunk(&d.CheckpointChunk)
	default:
		r.drop() // replies and evictions are for clients
	}
}

func (r *Replica) drop() { r.stats.Dropped++ }

func (r *Replica) isPrimary() bool { return r.config.primaryOf(r.view) == r.index }

func (r *Replica) primaryIndex() ReplicaIndex { return r.config.primaryOf(r.view) }

// sendToOthers sends one message to every other replica.
func (r *Replica) sendToOthers(message []byte) {
	assert(len(message) >= HeaderSize && len(message) <= r.config.MessageSizeMax)
	for i := 0; i < r.config.Replicas; i++ {
		if ReplicaIndex(i) != r.index {
			r.bus.SendToReplica(ReplicaIndex(i), message)
		}
	}
}

// heardFrom notes that a replica spoke in the current view (for the primary's abdication).
func (r *Replica) heardFrom(replica ReplicaIndex) {
	assert(replica != r.index) // a primary hearing itself would count itself twice
	assert(int(replica) < len(r.heard) && r.heard[replica] <= r.ticks)
	r.heard[replica] = r.ticks
}

// randomOther picks another replica uniformly.
func (r *Replica) randomOther() ReplicaIndex {
	if r.config.Replicas == 1 {
		return r.index
	}
	other := ReplicaIndex(r.rand.Int(r.config.Replicas - 1))
	if other >= r.index {
		other++
	}
	assert(other != r.index && int(other) < r.config.Replicas)
	return other
}

// replicaSet is a set of replica indexes.
type replicaSet uint32

// A shift of 32 or more would drop the replica silently: indexes stay below ReplicasMax.
func (s replicaSet) with(i ReplicaIndex) replicaSet {
	assert(i < ReplicasMax)
	return s | 1<<i
}

func (s replicaSet) has(i ReplicaIndex) bool {
	assert(i < ReplicasMax)
	return s&(1<<i) != 0
}

func (s replicaSet) count() int { return bits.OnesCount32(uint32(s)) }

// invariants asserts, in O(1), what holds of a replica between two events: after each tick
// and each message. A handler may pass through a state that breaks one (a new primary is
// normal before it refills its pipeline); no event may end in one.
func (r *Replica) invariants() {
	j := r.journal
	if r.opening != nil {
		// Nothing of the protocol yet: the root log, view 0, only the opening's IOs.
		assert(r.status == StatusOpening && r.view == 0 && j.op == 0 && r.commitMax == 0)
		assert(len(r.disk.ios) == 0 && len(r.opening.ios) <= openReadsMax+RootCopies)
		return
	}
	assert(!r.headUncertain || r.status == StatusViewChange)
	assert(r.logView <= r.view)
	assert(r.commitMin <= r.commitMax)
	// The disk is behind memory, never ahead; every change of the journal went to it.
	assert(r.root.View <= r.view && r.root.LogView <= r.logView && len(j.changed) == 0)
	assert(len(r.disk.ios) <= ioInflightMax)
	// Executed ops stay in the log, held (the floor's header at least: the checkpoint the
	// state came from): no head and no truncation goes below them.
	assert(r.commitMin <= j.op && j.op < j.size && j.floor <= j.chainFrom && j.chainFrom <= j.op)
	assert(j.floor <= r.commitMin && r.restoredAt <= r.commitMin && j.known(r.commitMin))
	assert(r.commitMin == j.floor || j.held(r.commitMin, j.header(r.commitMin).Checksum))
	assert(!r.stateMissing || r.commitMin == j.floor && r.restoredAt == j.floor)
	assert(r.sync.id.Op == 0 || r.sync.id.Op == r.sync.target && r.sync.left > 0)
	assert(r.timer(timeoutRepair).running && r.timer(timeoutPing).running)
	assert(r.status == StatusRecovering || r.recovery.nonce == 0)
	switch r.status {
	case StatusNormal:
		vc := &r.viewChange
		assert(r.logView == r.view)
		assert(vc.svcFrom == 0 && !vc.dvcSent && !vc.installed && len(vc.dvcs) == 0)
		assert(!r.timer(timeoutViewChange).running && !r.timer(timeoutViewChangeSend).running)
		assert(!r.timer(timeoutRecovery).running)
		if r.isPrimary() {
			r.primaryInvariants()
		} else {
			p := &r.primary
			assert(len(p.pipeline) == 0 && len(p.queue) == 0 && p.inflight == nil)
			assert(r.timer(timeoutPrimary).running)
			assert(!r.timer(timeoutHeartbeat).running && !r.timer(timeoutPrepareRetry).running)
		}
	case StatusViewChange:
		r.viewChangeInvariants()
	case StatusRecovering:
		// A replica recovers from nothing, and takes nothing in until it has recovered.
		assert(r.view == 0 && r.logView == 0 && j.op == 0 && r.commitMax == 0)
		assert(r.recovery.nonce != 0 && len(r.recovery.responses) == r.config.Replicas)
		assert(r.timer(timeoutRecovery).running && !r.timer(timeoutPrimary).running)
		assert(!r.timer(timeoutHeartbeat).running && !r.timer(timeoutPrepareRetry).running)
		assert(!r.timer(timeoutViewChange).running && !r.timer(timeoutViewChangeSend).running)
	default:
		panic(fmt.Sprintf("core: replica %d in status %v", r.index, r.status))
	}
}
