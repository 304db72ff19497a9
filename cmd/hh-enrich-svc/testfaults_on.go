//go:build testfaults

package main

// passTestFaults: this is a test build (go build -tags testfaults), so
// ENRICH_TEST_FAULTS reaches the plugins and a candidate's _fault field can crash,
// hang or bloat them, for the tests and `make chaos`.
const passTestFaults = true
