package simnet

import "github.com/vsrsim/vsrsim/simclock"

// Deliver hands every packet due by tick now to deliver, after the faults of delivery have
// had their say. The bytes passed to deliver are valid only during the call. deliver may
// Send: what it sends is due at a later tick.
func (n *Network) Deliver(now simclock.Tick, deliver func(source, target Process, data []byte)) {
	if now < n.now {
		panic("simnet: time went backwards")
	}
	n.now = now
	for len(n.queue) > 0 && n.packets[n.queue[0]].deliver <= now {
		index := n.pop()
		p := &n.packets[index]
		if p.dead {
			n.release(index)
			continue
		}
		l := n.link(p.source, p.target)
		if l.clogUntil > now {
			// Held back, not lost: try again when the clog ends.
			p.deliver = l.clogUntil
			n.push(index)
			continue
		}
		if n.held[p.target] {
			// Its target is paused: parked until it resumes (SetHeld).
			n.parked[p.target] = append(n.parked[p.target], index)
			continue
		}
		n.unlink(l, index)
		n.arrive(index, deliver)
		n.release(index)
	}
}

// arrive decides the fate of one packet that left its link.
func (n *Network) arrive(index int32, deliver func(source, target Process, data []byte)) {
	p := &n.packets[index]
	source, target := p.source, p.target
	if n.rand.Chance(n.options.MisrouteProbability) && n.options.Processes > 1 {
		// Any process but the intended one, the sender included.
		other := Process(n.rand.Int(n.options.Processes - 1))
		if other >= target {
			other++
		}
		n.stats.Misrouted++
		n.observe(Event{Kind: EventMisrouted, Source: source, Target: target, Actual: other, Size: len(p.data), Head: head(p.data), Data: p.data})
		target = other
	}
	switch {
	case n.down[target] || n.held[target]: // a misrouted packet can reach a paused process
		n.drop(source, target, len(p.data), DropDown)
		return
	case n.partition.blocks(source, target) || n.isolated[source] || n.isolated[target]:
		n.drop(source, target, len(p.data), DropPartition)
		return
	case n.rand.Chance(n.options.LossProbability):
		n.drop(source, target, len(p.data), DropLoss)
		return
	}
	if n.rand.Chance(n.options.DuplicateProbability) {
		delay := n.delay()
		n.stats.Duplicated++
		n.observe(Event{Kind: EventDuplicated, Source: p.source, Target: p.target, Size: len(p.data), Head: head(p.data), Ticks: delay, Data: p.data})
		n.enqueue(p.source, p.target, p.data, delay) // the pristine bytes travel again
		p = &n.packets[index]                        // enqueue may have grown the slab
	}
	if n.rand.Chance(n.options.CorruptProbability) && len(p.data) > 0 {
		// One to three distinct bits: flipping a bit twice would undo the corruption.
		flips := min(1+n.rand.Int(3), len(p.data)*8)
		var flipped [3]uint64
		for i := 0; i < flips; i++ {
			bit := n.rand.IntN(uint64(len(p.data)) * 8)
			for j := 0; j < i; j++ {
				if flipped[j] == bit {
					bit = (bit + 1) % (uint64(len(p.data)) * 8)
					j = -1 // check the moved bit against all again
				}
			}
			flipped[i] = bit
			p.data[bit/8] ^= 1 << (bit % 8)
		}
		n.stats.Corrupted++
		n.observe(Event{Kind: EventCorrupted, Source: source, Target: target, Size: len(p.data), Head: head(p.data), Ticks: uint64(flips)})
	}
	n.stats.Delivered++
	n.observe(Event{Kind: EventDelivered, Source: source, Target: target, Size: len(p.data), Head: head(p.data), Data: p.data})
	deliver(source, target, p.data)
}

// The queue is a binary min-heap of slab indices, ordered by delivery tick, then tie-break.

func (n *Network) less(a, b int32) bool {
	pa, pb := &n.packets[a], &n.packets[b]
	if pa.deliver != pb.deliver {
		return pa.deliver < pb.deliver
	}
	return pa.order < pb.order
}

func (n *Network) push(index int32) {
	n.queue = append(n.queue, index)
	i := len(n.queue) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !n.less(n.queue[i], n.queue[parent]) {
			break
		}
		n.queue[i], n.queue[parent] = n.queue[parent], n.queue[i]
		i = parent
	}
}

func (n *Network) pop() int32 {
	top := n.queue[0]
	last := len(n.queue) - 1
	n.queue[0] = n.queue[last]
	n.queue = n.queue[:last]
	i := 0
	for {
		smallest, left, right := i, 2*i+1, 2*i+2
		if left < last && n.less(n.queue[left], n.queue[smallest]) {
			smallest = left
		}
		if right < last && n.less(n.queue[right], n.queue[smallest]) {
			smallest = right
		}
		if smallest == i {
			return top
		}
		n.queue[i], n.queue[smallest] = n.queue[smallest], n.queue[i]
		i = smallest
	}
}
