package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// rootState is the durable root: what a replica must never forget across a crash, kept in
// RootCopies copies of one sector each (ZoneRoot). The journal holds the log; the root holds
// what the log cannot say about itself: the highest view the replica promised to take part
// in, the last view in which it was normal (the view its log belongs to), an op it knew
// committed, and the head its log had when the log view was installed.
//
// Head is what lets a restart tell a prepare truncated by a view's install from one appended
// in that view: truncation blanks the header entries above the new head but leaves their
// prepare slots, which read back as slotPrepareOnly. An op above Head of a view below LogView
// was truncated when LogView was installed (open.go discards it); one of view LogView was
// appended in it.
type rootState struct {
	Sequence     uint64 // grows by one with every write of the root: the newest copy wins
	View         View
	LogView      View     // Invariant: LogView ≤ View
	Commit       Op       // committed, known when the root was written
	Head         Op       // the log's head when LogView was installed
	HeadChecksum Checksum // its header's; Invariant: never zero (op 0 is the root prepare)
	// The installed log's last headers, ending at Head (the trusted window of that log, at
	// most rootWindowMax of it): what a restart knows of its log view's log beyond what
	// its disk holds. A start_view installs headers whose prepares are repaired after, and
	// a crash meanwhile leaves the disk short of Head: without these headers the replica
	// could not say what its log view's log is and could not vote until a peer told it
	// (headUncertain), and when no peer could, the cluster never started another view.
	// With them it votes that log, holding what it holds: an op it never wrote was never
	// acknowledged, and it says so. Invariant: empty when Head is 0; else consecutive ops,
	// each linking to the one below, the last Head with HeadChecksum.
	Window    [rootWindowMax]PrepareHeader
	WindowLen int
	// Recovered is the highest op this replica abstains on in a view change because it may
	// have acknowledged it in a life whose state it lost (recoveryState.recoveredOp): kept
	// here, the abstention outlives the next crash. Without it a replica wiped, recovered
	// and restarted found the ops of its window blank on its new disk and nacked them as
	// never written: seed 298 truncated a committed op so.
	Recovered Op
	// Checkpoint is the durable checkpoint (checkpoint.go): what a restart restores the
	// state from, and the op below which the log may be forgotten. Op 0 for none: the
	// state is the empty one of the root prepare.
	Checkpoint checkpointRef
}

// rootWindowMax is how many headers of the installed log a root copy holds: what fits in
// its sector after the state.
const rootWindowMax = (SectorSize - rootWindowAt) / HeaderSize

// window is the root's window of headers, oldest first.
func (s *rootState) window() []PrepareHeader {
	assert(s.WindowLen >= 0 && s.WindowLen <= rootWindowMax)
	return s.Window[:s.WindowLen]
}

// setWindow keeps the last rootWindowMax of headers, a trusted window ending at the head.
func (s *rootState) setWindow(headers []PrepareHeader) {
	if len(headers) > rootWindowMax {
		headers = headers[len(headers)-rootWindowMax:]
	}
	s.WindowLen = copy(s.Window[:], headers)
	clear(s.Window[s.WindowLen:])
	assert(s.WindowLen == 0 || s.Window[s.WindowLen-1].Op == s.Head)
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
	rootChecksumAt  = 0
	rootClusterAt   = 16
	rootReplicaAt   = 24
	rootCopyAt      = 25
	rootSequenceAt  = 32
	rootViewAt      = 40
	rootLogViewAt   = 48
	rootCommitAt    = 56
	rootHeadAt      = 64
	rootHeadSumAt   = 72  // 16 bytes
	rootRecoveredAt = 88  // 8 bytes
	rootCheckOpAt   = 96  // the checkpoint: its op, 8 bytes
	rootCheckSizeAt = 104 // its size in bytes, 8
	rootCheckSumAt  = 112 // its checksum, 16
	rootCheckAreaAt = 128 // its area, 8
	rootCheckHeadAt = 136 // its op's header, HeaderSize (zero for op 0)
	rootWindowLen   = 264 // 8 bytes: the window's headers
	rootWindowAt    = 272 // the window's headers, HeaderSize each
)

// encodeRoot lays out copy number copy of a root state, one sector.
func encodeRoot(cluster uint64, replica ReplicaIndex, copy int, s *rootState) []byte {
	return encodeRootInto(make([]byte, SectorSize), cluster, replica, copy, s)
}

// encodeRootInto is encodeRoot into b, a sector, which it overwrites whole and returns.
func encodeRootInto(b []byte, cluster uint64, replica ReplicaIndex, copy int, s *rootState) []byte {
	assert(copy >= 0 && copy < RootCopies && len(b) == SectorSize)
	assert(s.Sequence > 0 && s.LogView <= s.View)
	assert(!s.HeadChecksum.IsZero())
	clear(b)
	le := binary.LittleEndian
	le.PutUint64(b[rootClusterAt:], cluster)
	b[rootReplicaAt], b[rootCopyAt] = byte(replica), byte(copy)
	le.PutUint64(b[rootSequenceAt:], s.Sequence)
	le.PutUint64(b[rootViewAt:], uint64(s.View))
	le.PutUint64(b[rootLogViewAt:], uint64(s.LogView))
	le.PutUint64(b[rootCommitAt:], uint64(s.Commit))
	le.PutUint64(b[rootHeadAt:], uint64(s.Head))
	s.HeadChecksum.put(b[rootHeadSumAt:])
	window := s.window()
	assert(len(window) == 0 || window[len(window)-1].Op == s.Head && window[len(window)-1].Checksum == s.HeadChecksum)
	le.PutUint64(b[rootRecoveredAt:], uint64(s.Recovered))
	s.Checkpoint.check()
	le.PutUint64(b[rootCheckOpAt:], uint64(s.Checkpoint.ID.Op))
	le.PutUint64(b[rootCheckSizeAt:], s.Checkpoint.ID.Size)
	s.Checkpoint.ID.Checksum.put(b[rootCheckSumAt:])
	le.PutUint64(b[rootCheckAreaAt:], uint64(s.Checkpoint.Area))
	if s.Checkpoint.ID.Op > 0 {
		var w wire
		s.Checkpoint.Header.toWire(&w, cluster)
		w.write(b[rootCheckHeadAt : rootCheckHeadAt+HeaderSize])
	}
	le.PutUint64(b[rootWindowLen:], uint64(len(window)))
	for k := range window {
		assert(k == 0 || window[k].Op == window[k-1].Op+1 && window[k].Parent == window[k-1].Checksum)
		var w wire
		window[k].toWire(&w, cluster)
		w.write(b[rootWindowAt+k*HeaderSize : rootWindowAt+(k+1)*HeaderSize])
	}
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
	le := binary.LittleEndian
	windowLen := le.Uint64(b[rootWindowLen:])
	assert(allZero(b[rootCopyAt+1 : rootSequenceAt]))
	assert(windowLen <= rootWindowMax)
	assert(allZero(b[rootWindowAt+windowLen*HeaderSize:]))
	if le.Uint64(b[rootClusterAt:]) != cluster || ReplicaIndex(b[rootReplicaAt]) != replica ||
		int(b[rootCopyAt]) != copy {
		// A write meant for another copy (or another disk) that landed here: intact, and
		// still not this copy's.
		return rootState{}, rootMisdirected
	}
	s := rootState{Sequence: le.Uint64(b[rootSequenceAt:]), View: View(le.Uint64(b[rootViewAt:])),
		LogView: View(le.Uint64(b[rootLogViewAt:])), Commit: Op(le.Uint64(b[rootCommitAt:])),
		Head: Op(le.Uint64(b[rootHeadAt:])), HeadChecksum: getChecksum(b[rootHeadSumAt:])}
	s.WindowLen = int(windowLen)
	s.Recovered = Op(le.Uint64(b[rootRecoveredAt:]))
	s.Checkpoint.ID = CheckpointID{Op: Op(le.Uint64(b[rootCheckOpAt:])), Size: le.Uint64(b[rootCheckSizeAt:]),
		Checksum: getChecksum(b[rootCheckSumAt:])}
	s.Checkpoint.Area = int(le.Uint64(b[rootCheckAreaAt:]))
	if s.Checkpoint.ID.Op > 0 {
		var w wire
		// Checksummed with the copy, so written from a sealed header.
		assert(w.parse(b[rootCheckHeadAt:rootCheckHeadAt+HeaderSize], cluster) == nil && w.command == CommandPrepare)
		s.Checkpoint.Header.fromWire(&w)
	} else {
		assert(allZero(b[rootCheckHeadAt : rootCheckHeadAt+HeaderSize]))
	}
	s.Checkpoint.check()
	for k := range s.WindowLen {
		var w wire
		at := rootWindowAt + k*HeaderSize
		// Checksummed with the copy, so written from a sealed header.
		assert(w.parse(b[at:at+HeaderSize], cluster) == nil && w.command == CommandPrepare)
		s.Window[k].fromWire(&w)
	}
	if window := s.window(); len(window) > 0 {
		last := &window[len(window)-1]
		assert(last.Op == s.Head && last.Checksum == s.HeadChecksum && window[0].Op > 0)
		for k := 1; k < len(window); k++ {
			assert(window[k].Op == window[k-1].Op+1 && window[k].Parent == window[k-1].Checksum)
		}
	}
	if s.Sequence == 0 || s.LogView > s.View || s.HeadChecksum.IsZero() {
		// Checksummed, so written this way: only a replica that broke its own invariant
		// could have written it.
		panic(fmt.Sprintf("core: root copy %d of replica %d holds sequence %d, view %d, log view %d",
			copy, replica, s.Sequence, s.View, s.LogView))
	}
	return s, rootValid
}

// rootPair is the pair of copies a root of this sequence is written to: sequences alternate
// between copies 0, 1 and copies 2, 3. The two copies of a pair are written at once, and
// the state is durable once both completed; the other pair, untouched meanwhile, keeps the
// state before. So a crash that tears both copies of the pair being written leaves the
// previous state (durable, on both copies of its pair), and the one copy the fault atlas
// may rot leaves the other of its pair: the newest state the replica acted on survives
// whatever one crash and one fault do, and a root write costs one write's latency, not
// four. (A state whose pair was only partly written was never acted on: the replica acts
// on a root only once it is durable.)
func rootPair(sequence uint64) [2]int {
	assert(sequence > 0)
	assert(RootCopies == 4)
	first := int(sequence%2) * 2
	return [2]int{first, first + 1}
}

// rootChoice is what a replica makes of its root copies at start-up.
type rootChoice uint8

const (
	rootFound rootChoice = iota + 1 // a valid copy: the newest is the root
	rootNone                        // every copy blank: a disk never written, or wiped
	rootLost                        // no valid copy, and not all blank: the state is gone
)

// chooseRoot picks the newest valid copy. A state is written to its pair of copies
// (rootPair), so a crash tears at most that pair and the other holds the previous state;
// the simulator's fault atlas lets at most one copy of a replica rot or fail.
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

// zeroSector is a sector of zeros, for allZero to compare against.
var zeroSector [SectorSize]byte

// allZero reports whether b is all zero bytes. It compares a sector at a time (bytes.Equal
// is a vectorised compare): a restart checks every header sector of its journal this way.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), SectorSize)
		if !bytes.Equal(b[:n], zeroSector[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
