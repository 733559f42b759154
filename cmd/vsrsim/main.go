package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the command line contract (shared/design/checkers.md).
const (
	exitPass           = 0
	exitUsage          = 2
	exitCorrectness    = 10
	exitLiveness       = 11
	exitCrash          = 12
	exitNondeterminism = 13
)

// exitError carries an exit code out of a command. A usage error (code 2) prints its message
// as one line on stderr; other codes have already reported themselves and print nothing more.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf builds the one-line error that every bad input gets, with exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitWith ends a command with a code after it has printed its own report.
func exitWith(code int) error {
	if code == exitPass {
		return nil
	}
	return &exitError{code: code, err: fmt.Errorf("exit %d", code)}
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

// execute runs the command line and returns the process exit code. Anything cobra rejects
// (unknown command or flag, bad flag value) is a usage error.
func execute(args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitPass
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.code == exitUsage {
			printError(exit.err)
		}
		return exit.code
	}
	printError(err)
	return exitUsage
}

func printError(err error) {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	fmt.Fprintf(os.Stderr, "vsrsim: %s\n", msg)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "vsrsim",
		Short: "Deterministic simulation testing of Viewstamped Replication",
		Long: "vsrsim runs whole VSR clusters in one goroutine under a seeded simulator of\n" +
			"networks, disks, clocks and crashes, and checks what the clients saw.\n" +
			"One seed reproduces one run, byte for byte.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("vsrsim {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})
	root.AddCommand(
		newRunCommand(),
		newSwarmCommand(),
		newReplayCommand(),
		newShrinkCommand(),
		newCheckHistoryCommand(),
	)
	return root
}

// version is the module's version and the VCS revision it was built from, as the build
// info records them: "(devel)" for a build inside the module, a tag for go install
// module@version; the revision and a "+dirty" mark when the tree had uncommitted changes.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown: no build info)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if revision != "" {
		v += " " + revision + modified
	}
	return v + " " + info.GoVersion
}
