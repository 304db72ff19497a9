package firestore

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/headhunter/hh-enrich-svc/store/firestore/firestoretest"
)

// emulatorHost is the Firestore emulator every test of this package shares; tests
// keep apart by each using its own project id.
var emulatorHost string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	emulator, err := firestoretest.NewEmulator()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	emulatorHost = emulator.Host()
	// The client library reads it at NewClient; set once, before any test runs.
	if err := os.Setenv("FIRESTORE_EMULATOR_HOST", emulatorHost); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	emulator.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}
