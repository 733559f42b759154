package simstorage

import "github.com/vsrsim/vsrsim/core"

// operation is a read or write in flight.
type operation struct {
	due     uint64 // the tick it completes at
	seq     uint64 // issue order, unique per disk: ties of due break by it
	id      core.IO
	write   bool
	zone    core.Zone
	first   uint64 // the first sector asked for
	sectors uint64 // how many, at least one
	data    []byte // a write's bytes, copied at issue
}

// before is the order of completion: by due tick, then by issue.
func (o *operation) before(other *operation) bool {
	assert(o.seq != other.seq)
	assert(o.due > 0 && other.due > 0) // an operation takes at least a tick
	if o.due != other.due {
		return o.due < other.due
	}
	return o.seq < other.seq
}

// queue is a binary min-heap of operations in completion order.
type queue struct {
	heap []operation
}

func (q *queue) len() int { return len(q.heap) }

func (q *queue) top() *operation {
	assert(len(q.heap) > 0)
	return &q.heap[0]
}

func (q *queue) push(o operation) {
	assert(o.sectors > 0)
	q.heap = append(q.heap, o)
	i := len(q.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.heap[i].before(&q.heap[parent]) {
			break
		}
		q.heap[i], q.heap[parent] = q.heap[parent], q.heap[i]
		i = parent
	}
	assert(i == 0 || !q.heap[i].before(&q.heap[(i-1)/2]))
}

func (q *queue) pop() operation {
	assert(len(q.heap) > 0)
	top := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = operation{} // drop the reference to its data
	q.heap = q.heap[:last]
	for i := 0; ; {
		smallest, left, right := i, 2*i+1, 2*i+2
		if left < last && q.heap[left].before(&q.heap[smallest]) {
			smallest = left
		}
		if right < last && q.heap[right].before(&q.heap[smallest]) {
			smallest = right
		}
		if smallest == i {
			break
		}
		q.heap[i], q.heap[smallest] = q.heap[smallest], q.heap[i]
		i = smallest
	}
	assert(len(q.heap) == 0 || !q.heap[0].before(&top))
	return top
}
