package localstack

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEmbedServer(t *testing.T) {
	t.Parallel()
	upsert := func(t *testing.T, e *EmbedServer, entity string) (int, error) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.URL+"/v1/embeddings/upsert",
			strings.NewReader(`{"entityId":"`+entity+`","text":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Tenant-ID", "t1")
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	start := func(t *testing.T) *EmbedServer {
		t.Helper()
		e, err := StartEmbedServer(0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(context.Background()) })
		return e
	}

	t.Run("CountsUpsertsPerEntity", func(t *testing.T) {
		t.Parallel()
		e := start(t)
		for _, entity := range []string{"a", "b", "a"} {
			if status, err := upsert(t, e, entity); err != nil || status != http.StatusOK {
				t.Fatalf("upsert %s: %d %v", entity, status, err)
			}
		}
		got := e.UpsertsByEntity()
		if got["t1/a"] != 2 || got["t1/b"] != 1 || e.Upserts() != 3 {
			t.Errorf("per entity %v, upserts %d; want a twice, b once, 3", got, e.Upserts())
		}
	})

	t.Run("AnswersTheFaultStatusWithoutCountingAnUpsert", func(t *testing.T) {
		t.Parallel()
		e := start(t)
		e.SetFault(EmbedFault{Status: http.StatusInternalServerError})
		if status, err := upsert(t, e, "a"); err != nil || status != http.StatusInternalServerError {
			t.Fatalf("got %d %v, want 500", status, err)
		}
		e.SetFault(EmbedFault{})
		if status, _ := upsert(t, e, "a"); status != http.StatusOK {
			t.Fatalf("healed server answered %d", status)
		}
		if e.Upserts() != 1 || e.Requests() != 2 {
			t.Errorf("upserts %d of %d requests, want 1 of 2", e.Upserts(), e.Requests())
		}
	})

	t.Run("RefusesConnectionsWhileDownAndServesAgainOnTheSamePort", func(t *testing.T) {
		t.Parallel()
		e := start(t)
		if err := e.Down(); err != nil {
			t.Fatal(err)
		}
		if _, err := upsert(t, e, "a"); err == nil {
			t.Fatal("an upsert reached a server that is down")
		}
		if err := e.Up(); err != nil {
			t.Fatal(err)
		}
		if status, err := upsert(t, e, "a"); err != nil || status != http.StatusOK {
			t.Fatalf("after Up: %d %v", status, err)
		}
	})
}
