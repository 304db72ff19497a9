package main

import (
	"bufio"
	"strconv"
	"strings"
)

// Counter names on the service's /metrics that tell how many jobs ended.
const (
	metricCompleted = "hh_enrich_jobs_completed_total"
	metricFailed    = "hh_enrich_jobs_failed_total"
)

// SumSeries adds up the samples of metric in a Prometheus text exposition whose
// labels contain every one of labels (each written as name="value"), so
// SumSeries(text, metricCompleted) is the total over all tenants. Lines it cannot
// read count as nothing: the numbers only steer the harness's wait.
func SumSeries(text, metric string, labels ...string) float64 {
	var sum float64
	scanner := bufio.NewScanner(strings.NewReader(text))
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		var labelSet string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labelSet, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric whose name starts with this one's
		}
		if !hasLabels(labelSet, labels) {
			continue
		}
		if fields := strings.Fields(rest); len(fields) > 0 {
			if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

func hasLabels(set string, want []string) bool {
	for _, l := range want {
		if !strings.Contains(set, l) {
			return false
		}
	}
	return true
}

// jobsEnded is how many jobs the service finished for good according to its
// counters: completed ones plus failures that were not retried.
func jobsEnded(text string) float64 {
	return SumSeries(text, metricCompleted) + SumSeries(text, metricFailed, `retried="false"`)
}
