package main

import (
	"fmt"
	"math"
	"slices"
)

// spread is a figure measured over several runs: the median is what the
// report states, min and max how much the runs disagreed.
type spread struct {
	Median, Min, Max float64
	N                int
}

// spreadOf summarizes xs (NaN values, failed runs, are left out).
func spreadOf(xs []float64) spread {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return spread{Median: med, Min: v[0], Max: v[len(v)-1], N: len(v)}
}

// String is "median (min–max, n runs)", or the single value of one run.
func (s spread) String() string {
	if s.N <= 1 {
		return fmtNum(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s, %d runs)", fmtNum(s.Median), fmtNum(s.Min), fmtNum(s.Max), s.N)
}

// checkSpread is check on the median of s, the row carrying the range.
func checkSpread(bench, metric string, s spread, unit, target string, baseline spread, baseName string, ok func(v, r float64) bool) Result {
	r := check(bench, metric, s.Median, unit, target, baseline.Median, baseName, ok)
	r.Min, r.Max, r.Runs = s.Min, s.Max, s.N
	r.BaseMin, r.BaseMax, r.BaseRuns = baseline.Min, baseline.Max, baseline.N
	return r
}

// one is the spread of a single measurement.
func one(v float64) spread { return spreadOf([]float64{v}) }

// none is the spread of a row without baseline.
var none = spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
