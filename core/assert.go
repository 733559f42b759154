package core

import (
	"fmt"
	"runtime"
)

// assert panics when an invariant does not hold. Assertions are always on: in a simulator
// they turn a silently wrong state into a failing seed, and in production a replica that
// would otherwise ack, commit or reply from a broken state stops instead.
//
// assert takes the condition alone, so a call that holds costs one predictable branch and
// no allocation (a variadic ...any would box its arguments at every call). The panic names
// the file and line of the assertion; where the facts matter more than the place, write
// `if !cond { panic(fmt.Sprintf(...)) }`, whose formatting runs only when it fails.
func assert(ok bool) {
	if !ok {
		assertFailed()
	}
}

// assertFailed is apart from assert so that assert stays small enough to inline.
//
//go:noinline
func assertFailed() {
	_, file, line, _ := runtime.Caller(2)
	panic(fmt.Sprintf("core: assertion failed at %s:%d", trimPath(file), line))
}

// trimPath keeps the file's name and its directory: core/primary.go, not the builder's path.
func trimPath(file string) string {
	slashes := 0
	for i := len(file) - 1; i >= 0; i-- {
		if file[i] == '/' {
			slashes++
			if slashes == 2 {
				return file[i+1:]
			}
		}
	}
	return file
}
