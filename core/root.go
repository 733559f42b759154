package core

import (
	"encoding/binary"
	"fmt"
)

// rootState is the durable root: what a replica must never forget across a crash, kept in
// RootCopies copies of one sector each (ZoneRoot). The journal holds the log; the root holds
// what the log cannot say about itself: the highest view the replica promised to take part
// in, the last view in which it was normal (the view its log belongs to), and an op it knew
// committed.
type rootState struct {
	Sequence uint64 // grows by one with every write of the root: the newest copy wins
	View     View
	LogView  View // Invariant: LogView ≤ View
	Commit   Op   // committed, known when the root was written
}

// rootVerdict is what one copy of the root, read back, turns out to be.
type rootVerdict uint8

const (
	rootValid       rootVerdict = iota + 1
	rootBlank                   // all zero: never written (a new or wiped disk)
	rootCorrupt                 // the checksum fails: bit rot, a torn write, a misdirected read of garbage
	rootMisdirected             // intact, but another copy's, replica's or cluster's
)

func (v rootVerdict) String() string {
	switch v {
	case rootValid:
		return "valid"
	case rootBlank:
		return "blank"
	case rootCorrupt:
		return "corrupt"
	case rootMisdirected:
		return "misdirected"
	}
	return fmt.Sprintf("rootVerdict(%d)", uint8(v))
}

// The sector of one root copy: a checksum of everything after it, then who wrote it and
// where it belongs, then the state. The rest of the sector is zero.
const (
	rootChecksumAt = 0
	rootClusterAt  = 16
	rootReplicaAt  = 24
	rootCopyAt     = 25
	rootSequenceAt = 32
	rootViewAt     = 40
	rootLogViewAt  = 48
	rootCommitAt   = 56
	rootEnd        = 64
)

// encodeRoot lays out copy number copy of a root state, one sector.
func encodeRoot(cluster uint64, replica ReplicaIndex, copy int, s *rootState) []byte {
	return encodeRootInto(make([]byte, SectorSize), cluster, replica, copy, s)
}

// encodeRootInto is encodeRoot into b, a sector, which it overwrites whole and returns.
func encodeRootInto(b []byte, cluster uint64, replica ReplicaIndex, copy int, s *rootState) []byte {
	assert(copy >= 0 && copy < RootCopies && len(b) == SectorSize)
	assert(s.Sequence > 0 && s.LogView <= s.View)
	clear(b)
	le := binary.LittleEndian
	le.PutUint64(b[rootClusterAt:], cluster)
	b[rootReplicaAt], b[rootCopyAt] = byte(replica), byte(copy)
	le.PutUint64(b[rootSequenceAt:], s.Sequence)
	le.PutUint64(b[rootViewAt:], uint64(s.View))
	le.PutUint64(b[rootLogViewAt:], uint64(s.LogView))
	le.PutUint64(b[rootCommitAt:], uint64(s.Commit))
	checksumOf(b[rootClusterAt:]).put(b[rootChecksumAt:])
	assert(!getChecksum(b).IsZero())
	return b
}

// decodeRoot reads back what sector copy of the root zone holds, for this replica of this
// cluster. Only a valid copy's state means anything.
func decodeRoot(b []byte, cluster uint64, replica ReplicaIndex, copy int) (rootState, rootVerdict) {
	assert(len(b) == SectorSize)
	assert(copy >= 0 && copy < RootCopies)
	if allZero(b) {
		return rootState{}, rootBlank
	}
	if getChecksum(b) != checksumOf(b[rootClusterAt:]) {
		return rootState{}, rootCorrupt
	}
	// Checksummed, so written this way: what encodeRoot leaves zero is zero.
	assert(allZero(b[rootCopyAt+1 : rootSequenceAt]))
	assert(allZero(b[rootEnd:]))
	le := binary.LittleEndian
	if le.Uint64(b[rootClusterAt:]) != cluster || ReplicaIndex(b[rootReplicaAt]) != replica ||
		int(b[rootCopyAt]) != copy {
		// A write meant for another copy (or another disk) that landed here: intact, and
		// still not this copy's.
		return rootState{}, rootMisdirected
	}
	s := rootState{Sequence: le.Uint64(b[rootSequenceAt:]), View: View(le.Uint64(b[rootViewAt:])),
		LogView: View(le.Uint64(b[rootLogViewAt:])), Commit: Op(le.Uint64(b[rootCommitAt:]))}
	if s.Sequence == 0 || s.LogView > s.View {
		// Checksummed, so written this way: only a replica that broke its own invariant
		// could have written it.
		panic(fmt.Sprintf("core: root copy %d of replica %d holds sequence %d, view %d, log view %d",
			copy, replica, s.Sequence, s.View, s.LogView))
	}
	return s, rootValid
}

// rootChoice is what a replica makes of its root copies at start-up.
type rootChoice uint8

const (
	rootFound rootChoice = iota + 1 // a valid copy: the newest is the root
	rootNone                        // every copy blank: a disk never written, or wiped
	rootLost                        // no valid copy, and not all blank: the state is gone
)

// chooseRoot picks the newest valid copy. Copies are written one at a time, each after the
// one before completed, so a crash tears at most the copy being written and the others hold
// the previous state or the new one; the simulator's fault atlas lets at most one other
// copy of a replica rot or be overwritten by a misdirected write.
func chooseRoot(states *[RootCopies]rootState, verdicts *[RootCopies]rootVerdict) (rootState, rootChoice) {
	var best rootState
	valid, blank := 0, 0
	for i := range verdicts {
		switch verdicts[i] {
		case rootValid:
			valid++
			if states[i].Sequence > best.Sequence {
				best = states[i]
			}
		case rootBlank:
			blank++
		case rootCorrupt, rootMisdirected:
		default:
			panic(fmt.Sprintf("core: root copy %d not read (%v)", i, verdicts[i]))
		}
	}
	switch {
	case valid > 0:
		assert(best.Sequence > 0)
		return best, rootFound
	case blank == RootCopies:
		return rootState{}, rootNone
	}
	assert(valid == 0 && blank < RootCopies)
	return rootState{}, rootLost
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
