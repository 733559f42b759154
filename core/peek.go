package core

// PeekCommand returns the command of a message this process built, without decoding it: for
// a driver or a checker that looks at what a replica sends (what arrives from elsewhere is
// decoded, never peeked at).
func PeekCommand(message []byte) Command {
	assert(len(message) >= HeaderSize)
	command := Command(message[60])
	assert(command > CommandReserved && command < commandCount)
	return command
}
