package simstorage

import (
	"testing"

	"github.com/vsrsim/vsrsim/core"
	"github.com/vsrsim/vsrsim/entropy"
)

// benchSlots bounds the slots a benchmark cycles through, so that its memory stays bounded
// (64 MiB) however long it runs.
const benchSlots = 1 << 12

// benchDisk is replica 0 of three on a journal of JournalSlotsDefault slots of 16 sectors
// (8 GiB), with swarm-like latencies and, if faulty, every atlas fault at a swarm rate.
func benchDisk(faulty bool) *Disk {
	layout := testLayout()
	layout[core.ZonePrepares] = core.ZoneLayout{Sectors: core.JournalSlotsDefault * 16, ChunkSectors: 16}
	o := Options{ReadLatencyMinTicks: 1, ReadLatencyMeanTicks: 3, WriteLatencyMinTicks: 1, WriteLatencyMeanTicks: 10}
	if faulty {
		o.BitRotProbability, o.ReadErrorProbability = entropy.Percent(5), entropy.Percent(2)
		o.MisdirectWriteProbability, o.MisdirectReadProbability = entropy.Percent(2), entropy.Percent(1)
	}
	atlas := NewAtlas(entropy.FromSeed(1).Stream("atlas"), 3, 2, layout)
	return New(layout, o, entropy.FromSeed(1).Stream("disk"), atlas, 0)
}

func discard(Completion) {}

// BenchmarkWrite: journal-like writes of one to four sectors, each into its own slot, one
// tick each.
func BenchmarkWrite(b *testing.B) {
	for _, faulty := range []bool{false, true} {
		b.Run(map[bool]string{false: "calm", true: "faulty"}[faulty], func(b *testing.B) {
			d := benchDisk(faulty)
			data := pattern(1, 4)
			b.SetBytes(int64(2.5 * core.SectorSize))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sectors := uint64(i%4 + 1)
				slot := uint64(i % benchSlots)
				d.Write(core.IO(i+1), core.ZonePrepares, slot*16*core.SectorSize, data[:sectors*core.SectorSize])
				d.Tick(discard)
			}
		})
	}
}

// BenchmarkRead: reads of one to four sectors of written slots, one tick each.
func BenchmarkRead(b *testing.B) {
	for _, faulty := range []bool{false, true} {
		b.Run(map[bool]string{false: "calm", true: "faulty"}[faulty], func(b *testing.B) {
			d := benchDisk(false)
			data := pattern(1, 4)
			for slot := uint64(0); slot < benchSlots; slot++ {
				d.Write(core.IO(slot+1), core.ZonePrepares, slot*16*core.SectorSize, data)
				d.Tick(discard)
			}
			for d.InFlight() > 0 {
				d.Tick(discard)
			}
			if faulty {
				d.options = benchDisk(true).options
			}
			b.SetBytes(int64(2.5 * core.SectorSize))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sectors := uint64(i%4 + 1)
				slot := uint64(i % benchSlots)
				d.Read(core.IO(i+1), core.ZonePrepares, slot*16*core.SectorSize, int(sectors*core.SectorSize))
				d.Tick(discard)
			}
		})
	}
}
