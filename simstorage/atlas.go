package simstorage

import (
	"fmt"
	"math/bits"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// Atlas decides, once per run, which replicas may suffer the faults it governs (bit rot,
// latent sector errors, misdirected reads and writes) on which chunk of which zone. A fault
// on the same data of every replica is data loss no protocol can prevent, so each chunk
// (ZoneLayout.ChunkSectors sectors: a journal slot, a header sector, a reply slot, a root
// copy) is open to at most quorum−1 replicas, where quorum is the replication quorum: a
// quorum that holds an op always keeps one intact copy of it. The root zone is held to
// more: each replica is open there on at most one of its RootCopies copies, so a copy torn
// at a crash plus a faulted one still leave two intact.
//
// Nothing is stored per chunk: a chunk's replicas are a hash of (seed, zone, chunk), so an
// atlas costs the same for a journal of 8 GiB as for one of 8 KiB. An Atlas is immutable
// and shared by every replica's disk of a run, wipes included.
type Atlas struct {
	seed      uint64
	replicas  int
	faultsMax int // replicas a chunk is open to: quorum − 1
	layout    core.Layout
}

// NewAtlas draws the atlas of a run from one draw of rand. replicas is the cluster's size,
// quorum its replication quorum, layout the disk every replica has. Arguments outside
// their bounds are a programming error of the caller: it panics.
func NewAtlas(rand *entropy.Rand, replicas, quorum int, layout core.Layout) *Atlas {
	if replicas < 1 || replicas > core.ReplicasMax || quorum < 1 || quorum > replicas {
		panic(fmt.Sprintf("simstorage: atlas of %d replicas, quorum %d: want 1 ≤ quorum ≤ replicas ≤ %d",
			replicas, quorum, core.ReplicasMax))
	}
	checkLayout(layout)
	a := &Atlas{seed: rand.Uint64(), replicas: replicas, faultsMax: quorum - 1, layout: layout}
	assert(a.faultsMax < a.replicas)
	assert(a.faultsMax >= 0)
	return a
}

// checkLayout panics unless every zone is whole chunks and the root's chunks are its copies.
func checkLayout(layout core.Layout) {
	for _, zone := range core.Zones {
		z := layout[zone]
		if z.Sectors == 0 || z.ChunkSectors == 0 || z.Sectors%z.ChunkSectors != 0 || z.Sectors >= sectorsMax ||
			z.MirrorSectors != 0 && (z.Sectors%z.MirrorSectors != 0 || z.MirrorSectors%z.ChunkSectors != 0) {
			panic(fmt.Sprintf("simstorage: zone %v of %d sectors in chunks of %d: want whole chunks, "+
				"fewer than 2^56 sectors", zone, z.Sectors, z.ChunkSectors))
		}
	}
	root := layout[core.ZoneRoot]
	if root.Sectors/root.ChunkSectors != core.RootCopies {
		panic(fmt.Sprintf("simstorage: root zone of %d chunks: a chunk of the root is one of its %d copies",
			root.Sectors/root.ChunkSectors, core.RootCopies))
	}
}

// FaultsMax is how many replicas each chunk is open to: the replication quorum minus one.
// Zero (a single replica) means no atlas fault ever happens.
func (a *Atlas) FaultsMax() int {
	assert(a.faultsMax >= 0 && a.faultsMax < a.replicas)
	return a.faultsMax
}

// Layout is the disk layout the atlas was drawn for.
func (a *Atlas) Layout() core.Layout { return a.layout }

// Allows reports whether the replica may suffer atlas faults on that sector of the zone.
func (a *Atlas) Allows(replica int, zone core.Zone, sector uint64) bool {
	if replica < 0 || replica >= a.replicas {
		panic(fmt.Sprintf("simstorage: atlas asked about replica %d of %d", replica, a.replicas))
	}
	z := a.zone(zone)
	if sector >= z.Sectors {
		panic(fmt.Sprintf("simstorage: atlas asked about sector %d of zone %v, which has %d",
			sector, zone, z.Sectors))
	}
	if a.faultsMax == 0 {
		return false
	}
	return a.allowsChunk(replica, zone, sector/z.ChunkSectors)
}

// allowsChunk is Allows for a chunk, without the checks of the arguments.
func (a *Atlas) allowsChunk(replica int, zone core.Zone, chunk uint64) bool {
	assert(a.faultsMax > 0)
	assert(replica >= 0 && replica < a.replicas)
	if zone == core.ZoneRoot {
		return a.allowsRoot(replica, chunk)
	}
	if z := a.layout[zone]; z.MirrorSectors > 0 {
		chunk %= z.MirrorSectors / z.ChunkSectors // the same data in whichever area: one chunk
	}
	return a.chunkReplicas(zone, chunk)&(1<<replica) != 0
}

// zone is a zone's layout; the zone must be one of core.Zones.
func (a *Atlas) zone(zone core.Zone) core.ZoneLayout {
	if zone < core.ZoneRoot || int(zone) >= len(a.layout) {
		panic(fmt.Sprintf("simstorage: no zone %v", zone))
	}
	z := a.layout[zone]
	assert(z.ChunkSectors > 0)
	return z
}

// chunkReplicas is the set (a bitmask) of the faultsMax replicas a chunk is open to: a
// partial Fisher–Yates shuffle of the replicas, driven by the chunk's hash.
func (a *Atlas) chunkReplicas(zone core.Zone, chunk uint64) uint32 {
	var order [core.ReplicasMax]uint8
	for i := range order {
		order[i] = uint8(i)
	}
	h := hash3(a.seed, uint64(zone), chunk)
	var set uint32
	for i := 0; i < a.faultsMax; i++ {
		h = mix64(h + golden)
		j := i + int(bounded(h, uint64(a.replicas-i)))
		order[i], order[j] = order[j], order[i]
		set |= 1 << order[i]
	}
	assert(bits.OnesCount32(set) == a.faultsMax)
	assert(set>>a.replicas == 0)
	return set
}

// allowsRoot: each replica has one root copy it may fault (a hash of the seed and the
// replica). A copy that more than faultsMax replicas picked is open to the faultsMax of
// them that rank first by a hash of (seed, copy, replica).
func (a *Atlas) allowsRoot(replica int, copy uint64) bool {
	assert(copy < core.RootCopies)
	if a.rootCopy(replica) != copy {
		return false
	}
	rank := a.rootRank(replica, copy)
	ahead := 0
	for other := 0; other < a.replicas; other++ {
		if other == replica || a.rootCopy(other) != copy {
			continue
		}
		r := a.rootRank(other, copy)
		if r < rank || (r == rank && other < replica) {
			ahead++
		}
	}
	assert(ahead < a.replicas)
	return ahead < a.faultsMax
}

// rootCopy is the one root copy a replica may fault.
func (a *Atlas) rootCopy(replica int) uint64 {
	copy := bounded(hash3(a.seed, rootDomain, uint64(replica)), core.RootCopies)
	assert(copy < core.RootCopies)
	return copy
}

func (a *Atlas) rootRank(replica int, copy uint64) uint64 {
	assert(replica < a.replicas)
	return hash3(a.seed, rootDomain+1+copy, uint64(replica))
}

// rootDomain keeps the root's hashes apart from the chunks' (whose second key is a zone).
const rootDomain = 1 << 32

const golden = 0x9e3779b97f4a7c15

// mix64 is the SplitMix64 finaliser: a bijection that spreads every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash3 hashes three words; distinct c give distinct hashes for the same a and b.
func hash3(a, b, c uint64) uint64 {
	return mix64(mix64(mix64(a)^(b*golden)) ^ c)
}

// bounded maps a hash to [0, n), n > 0, by multiply-high, as entropy's IntN does a draw.
func bounded(h, n uint64) uint64 {
	assert(n > 0)
	hi, _ := bits.Mul64(h, n)
	return hi
}
