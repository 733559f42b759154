package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/olekukonko/tablewriter"
)

// writeJSON prints exactly one JSON object on stdout.
func writeJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", data)
	return err
}

// table renders rows under a header to w (stderr: tables are for people).
func table(w io.Writer, header []string, rows [][]string) {
	t := tablewriter.NewWriter(w)
	t.Header(header)
	for _, row := range rows {
		_ = t.Append(row)
	}
	_ = t.Render()
}

// createExclusive opens a new file for writing and refuses to replace one that exists:
// nothing a user has is overwritten without asking (--force asks).
func createExclusive(path string, force bool) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if os.IsExist(err) {
		return nil, fmt.Errorf("%s exists; choose another path or pass --force to replace it", path)
	}
	return f, err
}

// startCPUProfile profiles the process into a new file until stop is called.
func startCPUProfile(path string, force bool) (stop func(), err error) {
	f, err := createExclusive(path, force)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func encodeStream(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
