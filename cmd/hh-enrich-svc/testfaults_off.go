//go:build !testfaults

package main

// passTestFaults: a production build never passes ENRICH_TEST_FAULTS to its
// plugins, so no payload can crash or hang them on purpose, whatever the
// environment says. Test builds use -tags testfaults (testfaults_on.go).
const passTestFaults = false
