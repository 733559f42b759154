package core

import "fmt"

// Command names a message kind.
type Command uint8

const (
	CommandReserved Command = iota
	CommandRequest
	CommandPrepare
	CommandPrepareOk
	CommandReply
	CommandCommit
	CommandStartViewChange
	CommandDoViewChange
	CommandStartView
	CommandRequestStartView
	CommandRecovery
	CommandRecoveryResponse
	CommandRequestPrepare
	CommandRequestHeaders
	CommandHeaders
	CommandEviction
	CommandPing
	CommandPong
	CommandRequestCheckpoint
	CommandCheckpointManifest
	CommandCheckpointChunk
	commandCount
)

var commandNames = [commandCount]string{"reserved", "request", "prepare", "prepare_ok", "reply",
	"commit", "start_view_change", "do_view_change", "start_view", "request_start_view",
	"recovery", "recovery_response", "request_prepare", "request_headers", "headers",
	"eviction", "ping", "pong", "request_checkpoint", "checkpoint_manifest", "checkpoint_chunk"}

func (c Command) String() string {
	if c < commandCount {
		return commandNames[c]
	}
	return fmt.Sprintf("command(%d)", uint8(c))
}

// fromClient reports whether a command is sent by clients (the rest are sent by replicas).
func (c Command) fromClient() bool {
	// Asked only of a command parsed.
	assert(c != CommandReserved)
	assert(c < commandCount)
	return c == CommandRequest
}
