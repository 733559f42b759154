package simnet

import (
	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simclock"
)

// Advance moves the network's fault state to tick now: partitions form and heal, links
// clog. The world calls it once per tick, after Deliver.
func (n *Network) Advance(now simclock.Tick) {
	if now < n.now {
		panic("simnet: time went backwards")
	}
	n.now = now
	n.advancePartition(now)
	n.clog.fire(n, now)
}

// partition is the current split of the partitionable processes into two sides.
type partition struct {
	active      bool
	side        []bool // per process; only partitionable ones can be true
	blockedFrom bool   // asymmetric: packets from this side to the other are blocked
	asymmetric  bool
	stableUntil simclock.Tick // no change of state before this tick
}

func (p *partition) init(processes int) { p.side = make([]bool, processes) }

// blocks reports whether the partition stops a packet from source to target.
func (p *partition) blocks(source, target Process) bool {
	if !p.active || p.side[source] == p.side[target] {
		return false
	}
	return !p.asymmetric || p.side[source] == p.blockedFrom
}

func (n *Network) advancePartition(now simclock.Tick) {
	o := &n.options
	p := &n.partition
	if o.PartitionMode == PartitionNone || o.Partitionable < 2 || now < p.stableUntil {
		return
	}
	if p.active {
		if n.rand.Chance(o.UnpartitionProbability) {
			n.heal(now)
		}
		return
	}
	if !n.rand.Chance(o.PartitionProbability) {
		return
	}
	n.split()
	p.active = true
	p.asymmetric = o.PartitionSymmetry == Asymmetric
	p.blockedFrom = n.rand.Bool()
	p.stableUntil = now + simclock.Tick(o.PartitionStableTicks)
	n.stats.Partitions++
	var mask uint64
	for i := 0; i < o.Partitionable && i < 64; i++ {
		if p.side[i] {
			mask |= 1 << i
		}
	}
	asym := uint64(0)
	if p.asymmetric {
		asym = 1
	}
	n.observe(Event{Kind: EventPartitioned, Ticks: mask<<1 | asym})
}

// split draws the sides of a new partition: both sides are non-empty.
func (n *Network) split() {
	k := n.options.Partitionable
	side := n.partition.side
	for i := range side {
		side[i] = false
	}
	switch n.options.PartitionMode {
	case PartitionUniformSize:
		order := make([]int, k)
		for i := range order {
			order[i] = i
		}
		n.rand.Shuffle(k, func(i, j int) { order[i], order[j] = order[j], order[i] })
		size := int(n.rand.Range(1, uint64(k-1)))
		for _, i := range order[:size] {
			side[i] = true
		}
	case PartitionUniformCoin:
		count := 0
		for i := 0; i < k; i++ {
			side[i] = n.rand.Bool()
			if side[i] {
				count++
			}
		}
		if count == 0 || count == k {
			side[0] = !side[0] // a coin toss that split nothing still splits one off
		}
	case PartitionIsolateSingle:
		side[n.rand.Int(k)] = true
	}
}

func (n *Network) heal(now simclock.Tick) {
	p := &n.partition
	p.active = false
	p.stableUntil = now + simclock.Tick(n.options.UnpartitionStableTicks)
	n.observe(Event{Kind: EventHealed})
}

// Partitioned reports whether a partition is in force.
func (n *Network) Partitioned() bool { return n.partition.active }

// clogArrivals schedules clogs. Each link clogs with probability p per tick, independently,
// so clogs over all L links arrive as one Poisson stream of rate L·p per tick: one next
// arrival time, kept in 1/1024 ticks, replaces a draw per link per tick.
type clogArrivals struct {
	nextFine uint64 // next arrival, in 1/1024 ticks; 0 with no clogs
}

const fineTicks = 1024

func (c *clogArrivals) schedule(n *Network, fromFine uint64) {
	p := n.options.ClogProbability
	if p.IsZero() || n.options.ClogMeanTicks == 0 {
		c.nextFine = 0
		return
	}
	links := uint64(len(n.links))
	meanFine := max(p.Den*fineTicks/(p.Num*links), 1)
	c.nextFine = fromFine + max(entropy.ExpScaled(n.rand.Uint64(), meanFine), 1)
}

func (c *clogArrivals) fire(n *Network, now simclock.Tick) {
	for c.nextFine != 0 && c.nextFine <= uint64(now)*fineTicks {
		index := n.rand.Int(len(n.links))
		l := &n.links[index]
		duration := n.rand.ExpTicks(1, n.options.ClogMeanTicks)
		l.clogUntil = max(l.clogUntil, now+simclock.Tick(duration))
		n.stats.Clogs++
		source := Process(index / n.options.Processes)
		target := Process(index % n.options.Processes)
		n.observe(Event{Kind: EventClogged, Source: source, Target: target, Ticks: duration})
		c.schedule(n, c.nextFine)
	}
}

// Heal ends every network fault for good: the partition heals, clogs clear, and no packet
// is lost, duplicated, corrupted or misrouted any more. Delays stay. The liveness phase
// calls it.
func (n *Network) Heal() {
	if n.partition.active {
		n.heal(n.now)
	}
	for i := range n.links {
		n.links[i].clogUntil = 0
	}
	o := &n.options
	o.LossProbability = entropy.Never
	o.DuplicateProbability = entropy.Never
	o.CorruptProbability = entropy.Never
	o.MisrouteProbability = entropy.Never
	o.ClogProbability = entropy.Never
	o.PartitionMode = PartitionNone
	o.LinkCapacity = LinkCapacityMax
	n.clog.nextFine = 0
}
