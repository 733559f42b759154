package simstorage

import (
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// randomLayout draws a layout: zones of 1 to 2^20 chunks of 1 to 64 sectors (up to 2^26
// sectors, 256 GiB), and a root of RootCopies chunks of 1 to 3 sectors.
func randomLayout(rand *entropy.Rand) core.Layout {
	var l core.Layout
	for _, zone := range core.Zones {
		chunk := rand.Range(1, 64)
		l[zone] = core.ZoneLayout{Sectors: chunk * rand.Range(1, 1<<20), ChunkSectors: chunk}
	}
	chunk := rand.Range(1, 3)
	l[core.ZoneRoot] = core.ZoneLayout{Sectors: core.RootCopies * chunk, ChunkSectors: chunk}
	return l
}

// The atlas's bounds, over many seeds, cluster sizes, quorums and layouts: per chunk at
// most quorum−1 replicas are allowed (outside the root exactly that many), every sector of
// a chunk says the same, in the root each replica is allowed on one copy at most, and with
// a quorum of one nobody is allowed anything.
func TestAtlasBounds(t *testing.T) {
	rand := entropy.FromSeed(20).Stream("property")
	rootAllowed, configs := 0, 0
	for seed := uint64(0); seed < 400; seed++ {
		replicas := int(rand.Range(1, core.ReplicasMax))
		quorum := replicas/2 + 1
		if rand.IntN(4) == 0 {
			quorum = int(rand.Range(1, uint64(replicas))) // any quorum: the bounds are the atlas's
		}
		layout := randomLayout(rand)
		atlas := NewAtlas(entropy.FromSeed(seed).Stream("atlas"), replicas, quorum, layout)
		if atlas.FaultsMax() != quorum-1 {
			t.Fatalf("faults max %d for quorum %d", atlas.FaultsMax(), quorum)
		}
		for _, zone := range core.Zones[1:] {
			z := layout[zone]
			chunks := z.Sectors / z.ChunkSectors
			for i := 0; i < 48; i++ {
				chunk := uint64(i)
				if i >= 16 {
					chunk = rand.IntN(chunks) // far into the zone too
				}
				if i == 47 {
					chunk = chunks - 1
				}
				if chunk >= chunks {
					continue
				}
				if n := allowedReplicas(t, atlas, zone, chunk); n != quorum-1 {
					t.Fatalf("seed %d, %d replicas, quorum %d: zone %v chunk %d open to %d replicas, want %d",
						seed, replicas, quorum, zone, chunk, n, quorum-1)
				}
			}
		}
		copies := make([]int, replicas)
		for chunk := uint64(0); chunk < core.RootCopies; chunk++ {
			if n := allowedReplicas(t, atlas, core.ZoneRoot, chunk); n > quorum-1 {
				t.Fatalf("seed %d: root copy %d open to %d replicas, quorum %d", seed, chunk, n, quorum)
			}
			for replica := range copies {
				if atlas.Allows(replica, core.ZoneRoot, chunk*layout[core.ZoneRoot].ChunkSectors) {
					copies[replica]++
					rootAllowed++
				}
			}
		}
		for replica, n := range copies {
			if n > 1 {
				t.Fatalf("seed %d: replica %d open on %d root copies, want at most one", seed, replica, n)
			}
		}
		if quorum > 1 {
			configs++
		}
	}
	// Not vacuous: most clusters that may fault at all have replicas open on a root copy.
	if rootAllowed < configs {
		t.Fatalf("%d replicas open on a root copy over %d configurations that allow faults", rootAllowed, configs)
	}
}

// allowedReplicas counts the replicas a chunk is open to, after checking that the chunk's
// first, last and a middle sector agree for each.
func allowedReplicas(t *testing.T, a *Atlas, zone core.Zone, chunk uint64) int {
	t.Helper()
	size := a.layout[zone].ChunkSectors
	first := chunk * size
	n := 0
	for replica := 0; replica < a.replicas; replica++ {
		allowed := a.Allows(replica, zone, first)
		if a.Allows(replica, zone, first+size-1) != allowed || a.Allows(replica, zone, first+size/2) != allowed {
			t.Fatalf("zone %v chunk %d: its sectors disagree for replica %d", zone, chunk, replica)
		}
		if allowed {
			n++
		}
	}
	return n
}

// Each replica is open on its share of chunks, quorum−1 in replicas, and the same seed
// draws the same atlas.
func TestAtlasSpreadsFaultsEvenly(t *testing.T) {
	layout := testLayout()
	layout[core.ZonePrepares] = core.ZoneLayout{Sectors: 1 << 20, ChunkSectors: 16}
	a := NewAtlas(entropy.FromSeed(21).Stream("atlas"), 5, 3, layout)
	same := NewAtlas(entropy.FromSeed(21).Stream("atlas"), 5, 3, layout)
	other := NewAtlas(entropy.FromSeed(22).Stream("atlas"), 5, 3, layout)
	const chunks = 20_000
	var counts [5]int
	differ := 0
	for chunk := uint64(0); chunk < chunks; chunk++ {
		for replica := 0; replica < 5; replica++ {
			allowed := a.Allows(replica, core.ZonePrepares, chunk*16)
			if allowed {
				counts[replica]++
			}
			if same.Allows(replica, core.ZonePrepares, chunk*16) != allowed {
				t.Fatal("two atlases of one seed disagree")
			}
			if other.Allows(replica, core.ZonePrepares, chunk*16) != allowed {
				differ++
			}
		}
	}
	for replica, n := range counts {
		if n < chunks*2/5-600 || n > chunks*2/5+600 {
			t.Errorf("replica %d open on %d of %d chunks, want about %d", replica, n, chunks, chunks*2/5)
		}
	}
	if differ == 0 {
		t.Error("atlases of two seeds agree everywhere")
	}
}

func TestAtlasPanics(t *testing.T) {
	rand := entropy.FromSeed(1).Stream("atlas")
	bad := testLayout()
	bad[core.ZoneReplies].Sectors = 15
	root := testLayout()
	root[core.ZoneRoot].Sectors = 8
	a := NewAtlas(rand, 3, 2, testLayout())
	for _, tc := range []struct {
		want string
		call func()
	}{
		{"want 1 ≤ quorum ≤ replicas", func() { NewAtlas(rand, 3, 4, testLayout()) }},
		{"want 1 ≤ quorum ≤ replicas", func() { NewAtlas(rand, 0, 1, testLayout()) }},
		{"want 1 ≤ quorum ≤ replicas", func() { NewAtlas(rand, core.ReplicasMax+1, 9, testLayout()) }},
		{"want whole chunks", func() { NewAtlas(rand, 3, 2, bad) }},
		{"one of its 4 copies", func() { NewAtlas(rand, 3, 2, root) }},
		{"replica 3 of 3", func() { a.Allows(3, core.ZoneHeaders, 0) }},
		{"sector 8 of zone headers", func() { a.Allows(0, core.ZoneHeaders, 8) }},
		{"no zone", func() { a.Allows(0, 0, 0) }},
	} {
		mustPanic(t, tc.want, tc.call)
	}
}

// A mirrored zone's areas hold the same data in turns (the checkpoint zone): the chunk at
// one place of each area is one chunk to the atlas, so at most quorum−1 replicas may suffer
// faults there, whichever area each replica's copy lies in. (Decided per area, replica 0's
// checkpoint in one area and replica 1's in the other could both rot: seed 191 with
// whole-cluster crashes on lost every copy of the state so.)
func TestAtlasMirroredAreasShareChunks(t *testing.T) {
	layout := testLayout()
	layout[core.ZoneCheckpoint] = core.ZoneLayout{Sectors: 2 * 64 * 4, ChunkSectors: 4, MirrorSectors: 64 * 4}
	a := NewAtlas(entropy.FromSeed(5).Stream("atlas"), 3, 2, layout)
	for chunk := uint64(0); chunk < 64; chunk++ {
		open := 0
		for replica := 0; replica < 3; replica++ {
			first := a.Allows(replica, core.ZoneCheckpoint, chunk*4)
			if second := a.Allows(replica, core.ZoneCheckpoint, (64+chunk)*4); second != first {
				t.Fatalf("chunk %d: replica %d open in one area and not the other", chunk, replica)
			}
			if first {
				open++
			}
		}
		if open != 1 {
			t.Fatalf("chunk %d open to %d replicas in its two areas: want 1", chunk, open)
		}
	}
}
