package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/simnet"
)

var netTraceKinds = [...]TraceKind{
	simnet.EventSent:        TraceNetSent,
	simnet.EventDelivered:   TraceNetDelivered,
	simnet.EventDropped:     TraceNetDropped,
	simnet.EventDuplicated:  TraceNetDuplicated,
	simnet.EventCorrupted:   TraceNetCorrupted,
	simnet.EventMisrouted:   TraceNetMisrouted,
	simnet.EventPartitioned: TraceNetPartitioned,
	simnet.EventHealed:      TraceNetHealed,
	simnet.EventClogged:     TraceNetClogged,
}

// observeNet folds a network event into the trace. This runs for every packet, so it only
// hashes a few words unless a text trace is wanted.
func (k *Kernel) observeNet(e simnet.Event) {
	kind := netTraceKinds[e.Kind]
	k.trace.Record(k.now, kind, uint64(e.Source)<<32|uint64(e.Target)<<16|uint64(e.Actual),
		uint64(e.Size)<<8|uint64(e.Reason), e.Head, e.Ticks)
	if k.trace.Writing() {
		k.netLine(e)
	}
}

func (k *Kernel) netLine(e simnet.Event) {
	t := k.trace
	switch e.Kind {
	case simnet.EventSent:
		t.Line(k.now, "net.sent p%d->p%d size=%d delay=%d %s", e.Source, e.Target, e.Size, e.Ticks, k.describe(e))
	case simnet.EventDelivered:
		t.Line(k.now, "net.delivered p%d->p%d size=%d %s", e.Source, e.Target, e.Size, k.describe(e))
	case simnet.EventDropped:
		t.Line(k.now, "net.dropped p%d->p%d size=%d reason=%v", e.Source, e.Target, e.Size, e.Reason)
	case simnet.EventDuplicated:
		t.Line(k.now, "net.duplicated p%d->p%d size=%d delay=%d", e.Source, e.Target, e.Size, e.Ticks)
	case simnet.EventCorrupted:
		t.Line(k.now, "net.corrupted p%d->p%d size=%d bits=%d", e.Source, e.Target, e.Size, e.Ticks)
	case simnet.EventMisrouted:
		t.Line(k.now, "net.misrouted p%d->p%d went to p%d", e.Source, e.Target, e.Actual)
	case simnet.EventPartitioned:
		t.Line(k.now, "net.partitioned sides=%b asymmetric=%v", e.Ticks>>1, e.Ticks&1 == 1)
	case simnet.EventHealed:
		t.Line(k.now, "net.healed")
	case simnet.EventClogged:
		t.Line(k.now, "net.clogged p%d->p%d ticks=%d", e.Source, e.Target, e.Ticks)
	}
}

// describe renders the packet of an event for the text trace, when the world gave the
// kernel a way to (the trace's describe function sees the packet's bytes).
func (k *Kernel) describe(e simnet.Event) string {
	if e.Data == nil || k.trace.describe == nil {
		return fmt.Sprintf("%016x", e.Head)
	}
	return k.trace.describe(e.Data)
}
