package simstorage

import (
	"fmt"
	"path/filepath"
	"runtime"
)

// assert panics when an invariant does not hold. Assertions are always on: a simulated
// disk that silently breaks its own rules would make a failing seed blame the replica.
// Like core's, it takes the condition alone so that a holding assertion costs one branch
// and no allocation; where the facts matter, the caller panics with them itself.
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
	panic(fmt.Sprintf("simstorage: assertion failed at %s:%d", filepath.Base(file), line))
}
