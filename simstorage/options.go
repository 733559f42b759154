package simstorage

import (
	"fmt"

	"github.com/vsrsim/vsrsim/entropy"
)

// LatencyTicksMax bounds the latency knobs: a disk is slow, not stopped.
const LatencyTicksMax = 1 << 20

// Options are the disk's knobs (shared/design/faults.md, "Storage"). The zero value of each
// probability turns that fault off; the zero value of the whole is a fault-free disk whose
// every operation completes at the next tick.
type Options struct {
	// Latency of one operation: max(min, Exp(mean)) ticks, drawn at issue (entropy's
	// ExpTicks), and never less than one tick: what is issued during a Tick completes at a
	// later one. A mean of zero makes every operation take exactly min ticks.
	ReadLatencyMinTicks   uint64
	ReadLatencyMeanTicks  uint64
	WriteLatencyMinTicks  uint64
	WriteLatencyMeanTicks uint64

	// Faults the atlas governs (Atlas), drawn at completion, per operation. A misdirected
	// write must land on allowed sectors too and gives up after misdirectTriesMax places
	// that are not: its rate is below its knob (about 80% of it with three replicas).
	BitRotProbability         entropy.Ratio // per read or write touching an allowed sector
	ReadErrorProbability      entropy.Ratio // per read touching an allowed sector
	MisdirectWriteProbability entropy.Ratio // per write whose sectors are all allowed
	MisdirectReadProbability  entropy.Ratio // per read whose sectors are all allowed

	// Physics at a crash, beyond the atlas: per write in flight, torn with this
	// probability, else lost.
	TornWriteProbability entropy.Ratio
}

// Validate reports the first knob that cannot work, by name.
func (o *Options) Validate() error {
	ratios := []struct {
		name string
		p    entropy.Ratio
	}{
		{"bit rot probability", o.BitRotProbability},
		{"read error probability", o.ReadErrorProbability},
		{"misdirect write probability", o.MisdirectWriteProbability},
		{"misdirect read probability", o.MisdirectReadProbability},
		{"torn write probability", o.TornWriteProbability},
	}
	for _, r := range ratios {
		if !r.p.Valid() {
			return fmt.Errorf("%s %v is not a probability (want 0 to 100%%)", r.name, r.p)
		}
	}
	if err := validateLatency("read", o.ReadLatencyMinTicks, o.ReadLatencyMeanTicks); err != nil {
		return err
	}
	return validateLatency("write", o.WriteLatencyMinTicks, o.WriteLatencyMeanTicks)
}

func validateLatency(what string, minTicks, meanTicks uint64) error {
	switch {
	case minTicks > LatencyTicksMax:
		return fmt.Errorf("%s latency min %d ticks: want at most %d", what, minTicks, LatencyTicksMax)
	case meanTicks > LatencyTicksMax:
		return fmt.Errorf("%s latency mean %d ticks: want at most %d", what, meanTicks, LatencyTicksMax)
	case meanTicks != 0 && meanTicks < minTicks:
		return fmt.Errorf("%s latency mean %d ticks is below its min %d: want mean ≥ min, "+
			"or mean 0 for a fixed latency of min", what, meanTicks, minTicks)
	}
	return nil
}

// Stats counts what the disk did. Reads and Writes count operations issued; each fault
// counts events (a sector turning rotten or unreadable, an operation misdirected, a write
// torn or lost at a crash), not the reads that later meet a sticky fault.
type Stats struct {
	Reads             uint64 `json:"reads"`
	Writes            uint64 `json:"writes"`
	BitRot            uint64 `json:"bit_rot"`
	ReadErrors        uint64 `json:"read_errors"`
	MisdirectedWrites uint64 `json:"misdirected_writes"`
	MisdirectedReads  uint64 `json:"misdirected_reads"`
	TornWrites        uint64 `json:"torn_writes"`
	LostWrites        uint64 `json:"lost_writes"`
}

// Add sums two counts: a run's storage stats are the sum over its replicas' disks, the
// disks a replica was wiped off included.
func (s Stats) Add(other Stats) Stats {
	sum := Stats{
		Reads:             s.Reads + other.Reads,
		Writes:            s.Writes + other.Writes,
		BitRot:            s.BitRot + other.BitRot,
		ReadErrors:        s.ReadErrors + other.ReadErrors,
		MisdirectedWrites: s.MisdirectedWrites + other.MisdirectedWrites,
		MisdirectedReads:  s.MisdirectedReads + other.MisdirectedReads,
		TornWrites:        s.TornWrites + other.TornWrites,
		LostWrites:        s.LostWrites + other.LostWrites,
	}
	assert(sum.Reads >= s.Reads && sum.Writes >= s.Writes) // counts do not wrap
	assert(sum.BitRot >= s.BitRot && sum.ReadErrors >= s.ReadErrors)
	return sum
}
