package firestore

import (
	"os"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store/firestore/firestoretest"
)

// emulatorHost is the Firestore emulator every test of this package shares; tests
// keep apart by each using its own project id.
var emulatorHost string

func TestMain(m *testing.M) {
	os.Exit(firestoretest.RunWithEmulator(m, &emulatorHost))
}
