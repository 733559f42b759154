package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// corpusDir is where the fuzzing engine writes a failing input, relative to the module.
const corpusDir = "sim/testdata/fuzz/FuzzCluster"

// fuzzCommand is the fuzzer's command line for a search of at most fuzztime (a duration,
// or Nx for N inputs).
func fuzzCommand(fuzztime string, workers int, cacheDir string) []string {
	return []string{"go", "test", "./sim", "-run", "^$", "-fuzz", "^FuzzCluster$",
		"-fuzztime", fuzztime, "-parallel", strconv.Itoa(workers), "-test.fuzzcachedir=" + cacheDir}
}

// warmUp builds the fuzzing test binary (coverage-instrumented, unlike a plain test's), so
// that no attempt's time includes compiling it, and checks that the seed corpus passes.
func warmUp(ctx context.Context, workers int) error {
	cache, err := os.MkdirTemp("", "bugrate-fuzzcache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	out, err := runGroup(ctx, fuzzCommand("1x", workers, cache), nil, nil, 30*time.Minute)
	if err != nil {
		return fmt.Errorf("FuzzCluster without a planted bug: %v\n%s", err, out)
	}
	return nil
}

var (
	progressLine = regexp.MustCompile(`^fuzz: elapsed: .*execs: (\d+)`)
	failureText  = regexp.MustCompile(`fuzz_test\.go:\d+: (.*)`)
)

// fuzzAttempt runs the fuzzer with a bug planted until its first failure or the cap.
func fuzzAttempt(ctx context.Context, bug string, seed uint64, workers int,
	cap time.Duration) (attempt, error) {
	a := attempt{bug: bug, searcher: "fuzzer", start: strconv.FormatUint(seed, 10)}
	cache, err := os.MkdirTemp("", "bugrate-fuzzcache-")
	if err != nil {
		return a, err
	}
	defer os.RemoveAll(cache)
	before, err := listDir(corpusDir)
	if err != nil {
		return a, err
	}
	created := missingDirs(corpusDir)
	defer removeNew(corpusDir, before, created)
	env := []string{"VSRSIM_FUZZ_BUG=" + bug, "VSRSIM_FUZZ_SEED=" + a.start}
	start := time.Now()
	execs := "0"
	watch := func(line string) {
		now := time.Since(start).Seconds()
		switch m := progressLine.FindStringSubmatch(line); {
		case a.startup == 0 && strings.HasPrefix(line, "fuzz: elapsed:"):
			a.startup = now
		case m != nil:
			execs = m[1]
		}
		if !a.found && strings.HasPrefix(line, "failure while testing seed corpus entry") {
			a.found, a.seconds, a.how = true, now, "seed corpus"
		}
		if !a.found && strings.HasPrefix(line, "--- FAIL: FuzzCluster") {
			a.found, a.seconds, a.how = true, now, "after "+execs+" execs"
		}
		if m := failureText.FindStringSubmatch(line); m != nil && a.failure == "" {
			a.failure = m[1]
		}
	}
	args := fuzzCommand(cap.String(), workers, cache)
	out, err := runGroup(ctx, args, env, watch, cap+2*time.Minute)
	if !a.found {
		a.seconds = time.Since(start).Seconds()
		if err != nil && ctx.Err() == nil {
			// go test fails only for a failure of the fuzz target, which would be found.
			return a, fmt.Errorf("fuzzer for %s: %v\n%s", bug, err, out)
		}
	}
	return a, nil
}

// runGroup runs a command in its own process group, passing each output line to watch, and
// kills the group (go test, the test binary, its fuzzing workers) when ctx ends or after
// limit. It returns the output's last lines.
func runGroup(ctx context.Context, args, env []string, watch func(string),
	limit time.Duration) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	reader, writer := io.Pipe()
	cmd.Stdout, cmd.Stderr = writer, writer
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var tail []string
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		scanner := bufio.NewScanner(reader)
		for scanner.Scan() {
			line := scanner.Text()
			if watch != nil {
				watch(line)
			}
			tail = append(tail[max(0, len(tail)-19):], line)
		}
		io.Copy(io.Discard, reader)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); writer.Close() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		killGroup(cmd)
		err = <-waited
	case <-timer.C:
		killGroup(cmd)
		err = fmt.Errorf("still running after %v: killed", limit)
		<-waited
	}
	<-scanned
	return strings.Join(tail, "\n"), err
}

// killGroup ends the process group this tool started, by its id.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func listDir(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names, nil
}

// missingDirs lists dir and its parents that do not exist, deepest first: the fuzzing
// engine creates them to write a failing input.
func missingDirs(dir string) []string {
	var missing []string
	for d := dir; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			break
		}
		missing = append(missing, d)
	}
	return missing
}

// removeNew removes the files that appeared in dir since before (the failing inputs an
// attempt wrote into the tree, which would fail everyone's go test ./sim), and the
// directories that were created for them.
func removeNew(dir string, before map[string]bool, created []string) {
	defer func() {
		for _, d := range created {
			_ = os.Remove(d) // only if empty: never what someone else put there
		}
	}()
	now, err := listDir(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bugrate: %v\n", err)
		return
	}
	for name := range now {
		if !before[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				fmt.Fprintf(os.Stderr, "bugrate: %v\n", err)
			}
		}
	}
}
