// Package entropy is the single source of every random decision in vsrsim.
//
// A run has one root seed. Each component (the network, each replica, the workload, the
// fault scheduler, ...) draws from its own stream derived from the root and the component's
// name, so a change in how often one component draws never shifts another's decisions.
//
// Streams come from a Factory. FromSeed gives independent PCG streams (math/rand/v2) per
// component; FromBytes drives every component from one shared byte string, so the fuzzer or
// the shrinker can steer a run. When the bytes run out every draw is zero, and zero is
// always the simplest choice: no fault, the minimum delay, the first option. FromSteering is
// the fuzzer's: the seed's streams from a root that mixes in a byte string, whose bytes
// steer the first draws, so every input is a whole random run whose first decisions (the
// run's options) a fuzzer can move one at a time. A byte string's Mode says which it is.
//
// Bounded integers, ratio probabilities and exponential delays are computed here from raw
// 64-bit draws with integer arithmetic only, so a seed gives the same run on every
// architecture. No float formula is involved anywhere.
//
// This package imports only the standard library, so core/ may use it as it uses the
// standard library.
package entropy
