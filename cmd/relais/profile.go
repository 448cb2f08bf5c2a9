package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a CPU profile of the whole process to path
// (RELAIS_CPU_PROFILE) until the returned stop is called; with an empty
// path it does nothing. Benchmarks use it to see where a worker spends
// its time; a profile that cannot be started is reported and skipped.
func startCPUProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(stderr, "relais: RELAIS_CPU_PROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(stderr, "relais: RELAIS_CPU_PROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "relais: RELAIS_CPU_PROFILE:", err)
		}
	}
}
