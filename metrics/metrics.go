// Package metrics owns the service's telemetry: the Prometheus registry served on
// /metrics, the metric=* structured log lines of REFERENCE §7, and the Cloud
// Monitoring exporter. It imports no other package of this module, so every package
// may report to it.
//
// The walking skeleton logs each job's outcome through go-hclog; the registry and the
// exporter arrive with the telemetry issue.
package metrics
