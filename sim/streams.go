package sim

import "github.com/vsrsim/vsrsim/entropy"

// streams returns where a run's random decisions come from: the seed's streams, or a byte
// string standing in for them as EntropyMode says. A steered run needs its seed as well as
// its bytes; a run read from bytes has a label for a seed.
func (c *RunConfig) streams() (entropy.Factory, error) {
	if c.EntropyMode == entropy.ModeBytes && c.Entropy != nil {
		return entropy.FromBytes(c.Entropy), nil
	}
	seed, err := entropy.ParseSeed(c.Seed)
	if err != nil {
		return nil, err
	}
	if c.EntropyMode == entropy.ModeSteer {
		return entropy.FromSteering(seed, c.Entropy), nil
	}
	return entropy.FromSeed(seed), nil
}
