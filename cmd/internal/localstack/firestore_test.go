package localstack

import (
	"context"
	"errors"
	"testing"
)

func TestFirestoreEmulator(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the Firestore emulator twice")
	}
	t.Run("ServesDocumentsAndComesBackEmptyOnTheSamePortAfterKill", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e, err := StartFirestoreEmulator(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		doc := map[string]any{"name": "Acme", "status": "active"}
		if err := e.PutDocument(ctx, "p1", "organizations/acme", doc); err != nil {
			t.Fatal(err)
		}
		got, err := e.GetDocument(ctx, "p1", "organizations/acme")
		if err != nil || got["name"] != "Acme" {
			t.Fatalf("GetDocument = %v, %v", got, err)
		}
		host := e.Host
		e.Kill()
		if _, err := e.GetDocument(ctx, "p1", "organizations/acme"); err == nil {
			t.Fatal("a killed emulator answered")
		}
		if err := e.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if e.Host != host {
			t.Errorf("host moved from %s to %s", host, e.Host)
		}
		if _, err := e.GetDocument(ctx, "p1", "organizations/acme"); !errors.Is(err, ErrNoDocument) {
			t.Errorf("after the restart: %v, want ErrNoDocument (the emulator keeps nothing)", err)
		}
	})
}
