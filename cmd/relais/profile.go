package main

import (
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
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

// startMemProfile keeps at path (RELAIS_MEM_PROFILE) a heap profile taken
// at the process's peak: once a second it reads the heap and the
// goroutine stacks in use, and whenever their sum passes the largest seen
// by a tenth it rewrites the profile and prints the figures to stderr
// (the heap profile does not show stacks). With an empty path it does
// nothing. It is for diagnosing a process's memory, as
// RELAIS_CPU_PROFILE is for its CPU.
func startMemProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		samples := []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/stacks:bytes"},
			{Name: "/sched/goroutines:goroutines"},
		}
		var peak uint64
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(samples)
			heap, stacks := samples[0].Value.Uint64(), samples[1].Value.Uint64()
			if heap+stacks <= peak+peak/10 {
				continue
			}
			peak = heap + stacks
			if err := writeHeapProfile(path); err != nil {
				fmt.Fprintln(stderr, "relais: RELAIS_MEM_PROFILE:", err)
				return
			}
			fmt.Fprintf(stderr, "relais: RELAIS_MEM_PROFILE: heap objects %d MiB, goroutine stacks %d MiB, %d goroutines\n",
				heap>>20, stacks>>20, samples[2].Value.Uint64())
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// writeHeapProfile writes the heap profile to path through a temporary
// file, so that a reader never sees half a profile.
func writeHeapProfile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
