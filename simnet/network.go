package simnet

import (
	"fmt"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
)

// Network is the packet simulator. It is not safe for concurrent use: one world, one
// goroutine.
type Network struct {
	options Options
	rand    *entropy.Rand
	observe func(Event)
	now     simclock.Tick

	packets  []packet // slab; free slots are listed in free
	free     []int32
	queue    []int32 // binary min-heap of live and dead packets by (deliver, order)
	links    []link  // Processes² links, source-major
	down     []bool
	held     []bool
	isolated []bool
	// parked holds, per paused process, the packets that came due for it, in arrival order:
	// out of the heap, so a long pause costs nothing per tick (SetHeld releases them).
	parked [][]int32

	partition partition
	clog      clogArrivals

	stats Stats
}

type packet struct {
	deliver simclock.Tick
	order   uint64 // random tie-break among packets due at the same tick
	source  Process
	target  Process
	dead    bool  // dropped by overflow while queued; freed when it reaches the top
	slot    int32 // index in its link's inflight list
	data    []byte
}

type link struct {
	inflight  []int32 // live packets queued on this link, unordered
	clogUntil simclock.Tick
}

// New returns a network. The options must be valid; observe may be nil.
func New(options Options, rand *entropy.Rand, observe func(Event)) *Network {
	if err := options.Validate(); err != nil {
		panic(err)
	}
	if observe == nil {
		observe = func(Event) {}
	}
	n := &Network{
		options:  options,
		rand:     rand,
		observe:  observe,
		links:    make([]link, options.Processes*options.Processes),
		down:     make([]bool, options.Processes),
		held:     make([]bool, options.Processes),
		parked:   make([][]int32, options.Processes),
		isolated: make([]bool, options.Processes),
	}
	n.partition.init(options.Processes)
	n.clog.schedule(n, 0)
	return n
}

// Options returns the options in force.
func (n *Network) Options() Options { return n.options }

// Stats returns the counters so far.
func (n *Network) Stats() Stats { return n.stats }

// InFlight counts packets queued and not yet delivered or dropped.
func (n *Network) InFlight() int { return len(n.packets) - len(n.free) - n.deadQueued() }

func (n *Network) deadQueued() int {
	dead := 0
	for _, index := range n.queue {
		if n.packets[index].dead {
			dead++
		}
	}
	for _, parked := range n.parked {
		for _, index := range parked {
			if n.packets[index].dead {
				dead++
			}
		}
	}
	return dead
}

func (n *Network) link(source, target Process) *link {
	return &n.links[int(source)*n.options.Processes+int(target)]
}

func (n *Network) checkProcess(p Process) {
	if int(p) >= n.options.Processes {
		panic(fmt.Sprintf("simnet: process %d of %d", p, n.options.Processes))
	}
}

// Send queues a copy of data from source to target. The caller keeps data.
func (n *Network) Send(source, target Process, data []byte) {
	n.checkProcess(source)
	n.checkProcess(target)
	n.stats.Sent++
	delay := n.delay()
	n.observe(Event{Kind: EventSent, Source: source, Target: target, Size: len(data), Head: head(data), Ticks: delay, Data: data})
	n.enqueue(source, target, data, delay)
}

func (n *Network) delay() uint64 {
	delay := n.rand.ExpTicks(n.options.DelayMinTicks, n.options.DelayMeanTicks)
	// A packet sent during delivery must not arrive in the same pass: at least one tick.
	return max(delay, 1)
}

func (n *Network) enqueue(source, target Process, data []byte, delay uint64) {
	l := n.link(source, target)
	if len(l.inflight) >= n.options.LinkCapacity {
		victim := n.rand.Int(len(l.inflight) + 1)
		n.drop(source, target, len(data), DropOverflow)
		if victim == len(l.inflight) {
			return // the new packet itself is the one that does not fit
		}
		index := l.inflight[victim]
		n.unlink(l, index)
		n.packets[index].dead = true // it leaves the heap when it reaches the top
	}
	index := n.allocate()
	p := &n.packets[index]
	p.deliver = n.now + simclock.Tick(delay)
	p.order = n.rand.Uint64()
	p.source, p.target = source, target
	p.dead = false
	p.data = append(p.data[:0], data...)
	p.slot = int32(len(l.inflight))
	l.inflight = append(l.inflight, index)
	n.push(index)
}

// unlink removes a packet from its link's inflight list. It is called for a packet that was
// in the list; the slot in the packet still names its position.
func (n *Network) unlink(l *link, index int32) {
	slot := n.packets[index].slot
	last := len(l.inflight) - 1
	if l.inflight[slot] != index {
		panic("simnet: link inflight list out of step with its packet")
	}
	moved := l.inflight[last]
	l.inflight[slot] = moved
	n.packets[moved].slot = slot
	l.inflight = l.inflight[:last]
}

func (n *Network) allocate() int32 {
	if last := len(n.free) - 1; last >= 0 {
		index := n.free[last]
		n.free = n.free[:last]
		return index
	}
	n.packets = append(n.packets, packet{})
	return int32(len(n.packets) - 1)
}

func (n *Network) release(index int32) {
	n.free = append(n.free, index)
}

func (n *Network) drop(source, target Process, size int, reason DropReason) {
	n.stats.Dropped++
	switch reason {
	case DropLoss:
		n.stats.DroppedLoss++
	case DropPartition:
		n.stats.DroppedPartition++
	case DropDown:
		n.stats.DroppedDown++
	case DropOverflow:
		n.stats.DroppedOverflow++
	default:
		panic("simnet: drop without a reason")
	}
	n.observe(Event{Kind: EventDropped, Reason: reason, Source: source, Target: target, Size: size})
}

// SetDown marks a process down (crashed) or up. Packets reaching a down process are dropped.
func (n *Network) SetDown(p Process, down bool) {
	n.checkProcess(p)
	n.down[p] = down
}

// Isolate cuts a process off from every other for good: whatever it sends or is sent is
// dropped as partitioned. The liveness phase isolates the replicas outside its core.
func (n *Network) Isolate(p Process) {
	n.checkProcess(p)
	n.isolated[p] = true
}

// SetHeld holds back (or releases) every packet to a process: a paused process receives
// nothing, and what was sent to it waits, like the buffers of a paused machine.
func (n *Network) SetHeld(p Process, held bool) {
	n.checkProcess(p)
	n.held[p] = held
	if held {
		return
	}
	// Released: what waited is due at the next delivery, in the order it would have had.
	for _, index := range n.parked[p] {
		n.packets[index].deliver = max(n.packets[index].deliver, n.now+1)
		n.push(index)
	}
	n.parked[p] = n.parked[p][:0]
}
