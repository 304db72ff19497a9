package localstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCandidates(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, lines string) string {
		path := filepath.Join(t.TempDir(), "c.jsonl")
		if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("KeepsOnlyWhatTheEnricherAccepts", func(t *testing.T) {
		t.Parallel()
		path := write(t, `{"candidate_id":"a","org_id":"t1","resume_text":"Go engineer"}

{"candidate_id":"b","org_id":"t2","resume_text":"  ","recruiter_comments":null}
{"candidate_id":"c","org_id":"t3","recruiter_comments":"Strong."}
`)
		got, err := LoadCandidates(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "a" || got[1].ID != "c" || got[1].Tenant != "t3" {
			t.Errorf("got %+v, want a and c", got)
		}
		if string(got[0].Doc) != `{"candidate_id":"a","org_id":"t1","resume_text":"Go engineer"}` {
			t.Errorf("payload %s is not the document as written", got[0].Doc)
		}
	})
	t.Run("FailsOnAFileWithNothingToEnrich", func(t *testing.T) {
		t.Parallel()
		if _, err := LoadCandidates(write(t, `{"candidate_id":"b"}`+"\n")); err == nil {
			t.Error("no error")
		}
	})
	t.Run("FailsOnBadJSONNamingTheLine", func(t *testing.T) {
		t.Parallel()
		_, err := LoadCandidates(write(t, `{"candidate_id":"a","resume_text":"x"}`+"\n{oops\n"))
		if err == nil || !strings.Contains(err.Error(), "c.jsonl:2:") {
			t.Errorf("error %v does not name line 2", err)
		}
	})
}
