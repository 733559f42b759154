package core

import (
	"strings"
	"testing"
)

func TestConfigDefaultIsValid(t *testing.T) {
	for replicas := 1; replicas <= ReplicasMax; replicas++ {
		c := DefaultConfig(7, replicas)
		if err := c.Validate(); err != nil {
			t.Errorf("DefaultConfig(7, %d): %v", replicas, err)
		}
		if c.Cluster != 7 || c.Replicas != replicas {
			t.Errorf("DefaultConfig(7, %d) is for cluster %d of %d", replicas, c.Cluster, c.Replicas)
		}
	}
}

func TestConfigValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		set  func(c *Config)
		want string // a word of the error, to tell the rule that tripped
	}{
		{"no replicas", func(c *Config) { c.Replicas = 0 }, "replicas"},
		{"negative replicas", func(c *Config) { c.Replicas = -1 }, "replicas"},
		{"replicas over the bitset", func(c *Config) { c.Replicas = ReplicasMax + 1 }, "replicas"},
		{"no pipeline", func(c *Config) { c.PipelineMax = 0 }, "pipeline"},
		{"pipeline of HeadersMax", func(c *Config) { c.PipelineMax = HeadersMax }, "pipeline"},
		{"no batch", func(c *Config) { c.BatchMax = 0 }, "batch"},
		{"no queue", func(c *Config) { c.RequestQueueMax = 0 }, "queue"},
		{"no client table", func(c *Config) { c.ClientTableMax = 0 }, "client table"},
		{"no repair", func(c *Config) { c.RepairMax = 0 }, "repair"},
		{"messages too small for a window", func(c *Config) { c.MessageSizeMax = HeaderSize * HeadersMax }, "message size"},
		{"messages over the codec", func(c *Config) { c.MessageSizeMax = MessageSizeMax + 1 }, "message size"},
		{"no heartbeat", func(c *Config) { c.HeartbeatTicks = 0 }, "heartbeat"},
		{"primary timeout of two heartbeats", func(c *Config) { c.PrimaryTimeoutTicks = 2 * c.HeartbeatTicks }, "primary timeout"},
		{"no prepare retry", func(c *Config) { c.PrepareRetryTicks = 0 }, "timeout"},
		{"no view change timeout", func(c *Config) { c.ViewChangeTicks = 0 }, "timeout"},
		{"no repair timeout", func(c *Config) { c.RepairTicks = 0 }, "timeout"},
		{"no ping", func(c *Config) { c.PingTicks = 0 }, "timeout"},
		{"no abdication", func(c *Config) { c.AbdicateTicks = 0 }, "timeout"},
		{"no recovery timeout", func(c *Config) { c.RecoveryTicks = 0 }, "timeout"},
		{"no client retry", func(c *Config) { c.ClientRequestTicks = 0 }, "client timeouts"},
		{"client max below its first retry", func(c *Config) { c.ClientRequestMax = c.ClientRequestTicks - 1 }, "client timeouts"},
	}
	for _, c := range cases {
		config := DefaultConfig(1, 3)
		c.set(&config)
		err := config.Validate()
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not name %q", c.name, err, c.want)
		}
	}
}

// TestConfigValidateBoundaries: the settings at each bound are accepted.
func TestConfigValidateBoundaries(t *testing.T) {
	cases := []struct {
		name string
		set  func(c *Config)
	}{
		{"one replica", func(c *Config) { c.Replicas = 1 }},
		{"ReplicasMax", func(c *Config) { c.Replicas = ReplicasMax }},
		{"pipeline of one", func(c *Config) { c.PipelineMax = 1 }},
		{"pipeline of HeadersMax-1", func(c *Config) { c.PipelineMax = HeadersMax - 1 }},
		{"smallest messages", func(c *Config) { c.MessageSizeMax, c.CheckpointSizeMax = HeaderSize*(HeadersMax+1), 1<<20 }},
		{"largest messages", func(c *Config) { c.MessageSizeMax = MessageSizeMax }},
		{"primary timeout just over two heartbeats", func(c *Config) { c.PrimaryTimeoutTicks = 2*c.HeartbeatTicks + 1 }},
		{"client retries without backoff", func(c *Config) { c.ClientRequestMax = c.ClientRequestTicks }},
		{"sizes of one", func(c *Config) {
			c.BatchMax, c.RequestQueueMax, c.ClientTableMax, c.RepairMax = 1, 1, 1, 1
		}},
	}
	for _, c := range cases {
		config := DefaultConfig(1, 3)
		c.set(&config)
		if err := config.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestConfigQuorumsIntersect: every view-change quorum meets every replication quorum, so
// a view change hears of every committed op; and both are reachable without the faulty.
func TestConfigQuorumsIntersect(t *testing.T) {
	want := map[int][2]int{1: {1, 1}, 2: {2, 1}, 3: {2, 2}, 4: {3, 2}, 5: {3, 3}, 6: {4, 3}}
	for replicas := 1; replicas <= ReplicasMax; replicas++ {
		c := DefaultConfig(1, replicas)
		repl, vc := c.QuorumReplication(), c.QuorumViewChange()
		if repl+vc <= replicas {
			t.Errorf("%d replicas: replication %d + view change %d do not intersect", replicas, repl, vc)
		}
		if repl < 1 || vc < 1 || repl > replicas || vc > replicas || 2*repl <= replicas {
			t.Errorf("%d replicas: quorums %d and %d", replicas, repl, vc)
		}
		if w, ok := want[replicas]; ok && (repl != w[0] || vc != w[1]) {
			t.Errorf("%d replicas: quorums %d, %d; want %d, %d", replicas, repl, vc, w[0], w[1])
		}
	}
}

func TestConfigPrimaryOf(t *testing.T) {
	c := DefaultConfig(1, 5)
	for v, want := range map[View]ReplicaIndex{0: 0, 4: 4, 5: 0, 12: 2, 1<<64 - 1: 0} {
		if got := c.primaryOf(v); got != want {
			t.Errorf("primaryOf(%d) = %d, want %d", v, got, want)
		}
	}
}

// A checkpoint's manifest must fit a message: large checkpoints need large messages.
func TestConfigCheckpointManifestFitsAMessage(t *testing.T) {
	c := DefaultConfig(1, 3)
	c.MessageSizeMax = HeaderSize * (HeadersMax + 1) // chunks of two sectors
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Fatalf("64 MiB checkpoints over the smallest messages: %v, want the manifest named", err)
	}
	c.CheckpointSizeMax = 1 << 20
	if err := c.Validate(); err != nil {
		t.Fatalf("1 MiB checkpoints over the smallest messages: %v", err)
	}
}
