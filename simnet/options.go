package simnet

import (
	"fmt"

	"github.com/vsrsim/vsrsim/entropy"
)

// Process names a simulated process: replicas first, then clients.
type Process uint16

// ProcessesMax bounds the number of processes (links grow with its square).
const ProcessesMax = 256

// LinkCapacityMax is the hard bound of a link even when capacity is not a fault.
const LinkCapacityMax = 1 << 14

// PartitionMode chooses how a partition splits the partitionable processes.
type PartitionMode uint8

const (
	PartitionNone          PartitionMode = iota
	PartitionUniformSize                 // a side of uniformly random size
	PartitionUniformCoin                 // each process flips a coin
	PartitionIsolateSingle               // one process alone
)

var partitionModeNames = []string{"none", "uniform-size", "uniform-coin", "isolate-single"}

func (m PartitionMode) String() string {
	if int(m) < len(partitionModeNames) {
		return partitionModeNames[m]
	}
	return fmt.Sprintf("PartitionMode(%d)", m)
}

// ParsePartitionMode reads a mode's name.
func ParsePartitionMode(text string) (PartitionMode, error) {
	for i, name := range partitionModeNames {
		if name == text {
			return PartitionMode(i), nil
		}
	}
	return 0, fmt.Errorf("partition mode %q: want one of %v", text, partitionModeNames)
}

// PartitionSymmetry says whether a partition blocks both directions.
type PartitionSymmetry uint8

const (
	Symmetric  PartitionSymmetry = iota
	Asymmetric                   // one side can still send to the other
)

func (s PartitionSymmetry) String() string {
	if s == Asymmetric {
		return "asymmetric"
	}
	return "symmetric"
}

// ParsePartitionSymmetry reads "symmetric" or "asymmetric".
func ParsePartitionSymmetry(text string) (PartitionSymmetry, error) {
	switch text {
	case "symmetric":
		return Symmetric, nil
	case "asymmetric":
		return Asymmetric, nil
	}
	return 0, fmt.Errorf("partition symmetry %q: want symmetric or asymmetric", text)
}

// Options are the network's knobs (shared/design/faults.md). The zero value of each fault
// knob turns that fault off.
type Options struct {
	Processes     int // all processes
	Partitionable int // processes [0, Partitionable) take part in partitions: the replicas

	DelayMinTicks  uint64
	DelayMeanTicks uint64

	LossProbability      entropy.Ratio // drawn at delivery
	DuplicateProbability entropy.Ratio // drawn at delivery
	CorruptProbability   entropy.Ratio // drawn at delivery
	MisrouteProbability  entropy.Ratio // drawn at delivery

	LinkCapacity int // packets in flight per link; beyond it a random one is dropped

	ClogProbability entropy.Ratio // per tick per link
	ClogMeanTicks   uint64

	PartitionMode          PartitionMode
	PartitionSymmetry      PartitionSymmetry
	PartitionProbability   entropy.Ratio // per tick while whole and stable
	UnpartitionProbability entropy.Ratio // per tick while split and stable
	PartitionStableTicks   uint64        // a partition lasts at least this long
	UnpartitionStableTicks uint64        // a heal lasts at least this long
}

// Validate reports the first option that cannot work.
func (o *Options) Validate() error {
	ratios := []struct {
		name string
		p    entropy.Ratio
	}{
		{"loss probability", o.LossProbability}, {"duplicate probability", o.DuplicateProbability},
		{"corrupt probability", o.CorruptProbability}, {"misroute probability", o.MisrouteProbability},
		{"clog probability", o.ClogProbability}, {"partition probability", o.PartitionProbability},
		{"unpartition probability", o.UnpartitionProbability},
	}
	for _, r := range ratios {
		if !r.p.Valid() {
			return fmt.Errorf("%s %v is not a probability", r.name, r.p)
		}
	}
	switch {
	case o.Processes < 1 || o.Processes > ProcessesMax:
		return fmt.Errorf("%d processes: want 1 to %d", o.Processes, ProcessesMax)
	case o.Partitionable < 0 || o.Partitionable > o.Processes:
		return fmt.Errorf("%d partitionable processes of %d", o.Partitionable, o.Processes)
	case o.LinkCapacity < 1 || o.LinkCapacity > LinkCapacityMax:
		return fmt.Errorf("link capacity %d: want 1 to %d", o.LinkCapacity, LinkCapacityMax)
	case o.DelayMeanTicks > 1<<20 || o.DelayMinTicks > 1<<20:
		return fmt.Errorf("delay of %d/%d ticks is too long", o.DelayMinTicks, o.DelayMeanTicks)
	case o.ClogMeanTicks > 1<<20:
		return fmt.Errorf("clog mean %d ticks is too long", o.ClogMeanTicks)
	case o.PartitionMode > PartitionIsolateSingle:
		return fmt.Errorf("partition mode %d unknown", o.PartitionMode)
	case o.PartitionSymmetry > Asymmetric:
		return fmt.Errorf("partition symmetry %d unknown", o.PartitionSymmetry)
	}
	return nil
}
