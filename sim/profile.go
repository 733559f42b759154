package sim

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/vsrsim/vsrsim/entropy"
	"github.com/vsrsim/vsrsim/simnet"
	"github.com/vsrsim/vsrsim/simstorage"
)

// DrawOptions returns the options that a seed's stream gives under a profile.
//
// Swarm: every knob is drawn in the fixed order of the knob table (late knobs, added since,
// after every other draw, so that they shift no earlier seed's options), then each fault
// class is switched off with probability one half (swarm testing: a run without partitions
// explores other states than one where partitions drown everything else). Every knob is
// drawn even when its class ends up off, so one class's switch never shifts another knob.
// Calm: the same draws with every fault off. Performance: fixed, no faults.
func DrawOptions(profile Profile, r *entropy.Rand) Options {
	var o Options
	if profile == ProfilePerformance {
		return performanceOptions()
	}
	knobs := o.knobs()
	for i := range knobs {
		if !knobs[i].late {
			knobs[i].draw(r)
		}
	}
	var enabled [classCount]bool
	for class := faultClass(1); class < classLateFirst; class++ {
		enabled[class] = r.Bool()
	}
	drawLength(&o, r)
	drawCrowding(&o, r)
	for i := range knobs {
		if knobs[i].late && !knobs[i].final {
			knobs[i].draw(r)
		}
	}
	for class := classLateFirst; class < classCount; class++ {
		enabled[class] = r.Bool()
	}
	for i := range knobs {
		if knobs[i].final {
			knobs[i].draw(r)
		}
	}
	// Drawn, so that turning it on shifts nothing, but off until replicas restart from
	// their disks: a cluster that lost every replica's state cannot come back.
	enabled[classClusterCrash] = enabled[classClusterCrash] && restartFromDisk
	if profile == ProfileCalm {
		o.Storage = calmStorage(o.Storage)
	}
	for i := range knobs {
		if k := &knobs[i]; k.class != classNone && (!enabled[k.class] || profile == ProfileCalm) {
			k.off()
		}
	}
	return o
}

// Long runs. Most seeds issue the 96 to 256 requests the knob draws, which is quick; one in
// longRunOneIn multiplies that by a power of two from 8 to 128 (log-uniform: 768 to 32,768
// requests), so that what only happens once a structure grows, wraps or changes shape is
// reached by some seed of every night's swarm. The safety phase's bound grows with it.
//
// These draws come after every other, so a seed's other options are what they were before
// long runs existed; and the long branch is the top of its range, so a stream of zeros (a
// fuzzer's or a shrinker's simplest input) stays short.
const (
	longRunOneIn           = 32
	longRunScaleLog2Min    = 3
	longRunScaleLog2Max    = 7
	longRunTicksPerRequest = 200
)

func drawLength(o *Options, r *entropy.Rand) {
	long := r.Int(longRunOneIn) == longRunOneIn-1
	scaleLog2 := r.Range(longRunScaleLog2Min, longRunScaleLog2Max)
	if !long {
		return
	}
	o.Requests <<= scaleLog2
	o.TicksMax = max(o.TicksMax, uint64(o.Requests)*longRunTicksPerRequest)
}

// performanceOptions is the fixed shape of speed figures: three replicas, no faults, enough
// clients and requests to keep the pipeline full.
func performanceOptions() Options {
	o := Options{
		Replicas: 3, Clients: 32, Requests: 20_000, Keys: 64,
		PipelineMax: 8, BatchMax: 16, ClientTableMax: 64, CheckpointOps: 256, JournalSlots: 1024,
		TicksMax: 1 << 20, LivenessTicksMax: 20_000,
		Network: simnet.Options{DelayMinTicks: 1, DelayMeanTicks: 1},
	}
	o.Storage = calmStorage(o.Storage)
	o.faultsOff()
	return o
}

// calmStorage is a disk without surprises: every operation takes one tick, so that
// acknowledgements still wait for their writes. Its faults are turned off with the rest.
func calmStorage(s simstorage.Options) simstorage.Options {
	s.ReadLatencyMinTicks, s.ReadLatencyMeanTicks = 1, 0
	s.WriteLatencyMinTicks, s.WriteLatencyMeanTicks = 1, 0
	return s
}

// Override sets one knob by name, as the command line or a corpus entry gives it.
type Override struct {
	Name  string
	Value string
}

// Apply sets knobs by name, in order. An unknown name or a malformed value is an error.
func (o *Options) Apply(overrides []Override) error {
	knobs := o.knobs()
	for _, override := range overrides {
		k := findKnob(knobs, override.Name)
		if k == nil {
			return fmt.Errorf("unknown option %q", override.Name)
		}
		if err := k.set(override.Value); err != nil {
			return fmt.Errorf("%s (--%s): %v", k.name, k.flagName(), err)
		}
	}
	return nil
}

func findKnob(knobs []knob, name string) *knob {
	for i := range knobs {
		if knobs[i].name == name || knobs[i].flagName() == name {
			return &knobs[i]
		}
	}
	return nil
}

// KnobInfo describes one knob for the command line.
type KnobInfo struct {
	Name string // as in the JSON options
	Flag string // as on the command line
	Help string
}

// Knobs lists every knob, in table order.
func Knobs() []KnobInfo {
	var o Options
	var infos []KnobInfo
	for _, k := range o.knobs() {
		infos = append(infos, KnobInfo{Name: k.name, Flag: k.flagName(), Help: k.help})
	}
	return infos
}

// MarshalJSON renders every knob by name, in table order.
func (o Options) MarshalJSON() ([]byte, error) {
	var buf []byte
	buf = append(buf, '{')
	for i, k := range o.knobs() {
		if i > 0 {
			buf = append(buf, ',')
		}
		key, _ := json.Marshal(k.name)
		value, err := json.Marshal(k.value())
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, key...), ':'), value...)
	}
	return append(buf, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes, knob by knob; unknown keys are errors.
func (o *Options) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	names := make([]string, 0, len(raw))
	// map order: the names are sorted before they are applied.
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	var overrides []Override
	for _, name := range names {
		var text string
		if err := json.Unmarshal(raw[name], &text); err != nil {
			text = string(raw[name]) // a number
		}
		overrides = append(overrides, Override{Name: name, Value: text})
	}
	return o.Apply(overrides)
}

// Diff lists the knobs of o that differ from base, as overrides: what a corpus entry keeps.
func (o *Options) Diff(base *Options) []Override {
	mine, theirs := o.knobs(), base.knobs()
	var diff []Override
	for i := range mine {
		if mine[i].text() != theirs[i].text() {
			diff = append(diff, Override{Name: mine[i].name, Value: mine[i].text()})
		}
	}
	return diff
}

// Crowded client tables. The client table knob leaves room for every client, or one
// session short; one seed in crowdedOneIn has far fewer sessions than clients instead: four
// times the clients drawn, and from one session to a quarter as many as clients, so that
// sessions are evicted again and again while requests are in flight (serving.go says what a
// healed cluster still promises then). Drawn last, like the run's length, and the crowded
// branch is the top of its range. A crowded run takes a register per request, often
// several, so a long one is held to crowdedRequestsMax: a 38,144-request crowded seed took
// a minute, as long as a few hundred ordinary seeds.
const (
	crowdedOneIn       = 8
	crowdedRequestsMax = 4096
)

func drawCrowding(o *Options, r *entropy.Rand) {
	crowded := r.Int(crowdedOneIn) == crowdedOneIn-1
	clients := min(ClientsMax, o.Clients*4)
	sessions := 1 + r.Int(max(1, clients/4))
	if !crowded {
		return
	}
	o.Clients, o.ClientTableMax = clients, sessions
	o.Requests = min(o.Requests, crowdedRequestsMax)
}
