package embed

import (
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// enrichedCandidate is a document as the worker holds it after the local rules
// enricher ran (testdata made with cloud_run_worker/rules_enricher.py).
func enrichedCandidate(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/enriched_candidate.json")
	if err != nil {
		t.Fatal(err)
	}
	var candidate map[string]any
	if err := json.Unmarshal(raw, &candidate); err != nil {
		t.Fatal(err)
	}
	return candidate
}

func TestSearchableText(t *testing.T) {
	t.Parallel()

	t.Run("UsesTheFieldsTheEnricherWrites", func(t *testing.T) {
		t.Parallel()
		want := strings.Join([]string{
			"Technical Skills: Go, PostgreSQL",
			"Current Role: Senior Backend Engineer",
			"Experience: 7 years",
			"Seniority: senior",
			"Domain: Backend",
			"Leadership: Managing 6 people",
			"Companies: Stripe",
			"Company Tier: tier_1",
			"Education: Master's, Stanford University",
			"Strengths: Strong technical depth, Clear communicator",
			"Themes: technical depth, communication",
		}, "\n")
		if diff := cmp.Diff(want, SearchableText(enrichedCandidate(t))); diff != "" {
			t.Errorf("SearchableText (-want +got):\n%s", diff)
		}
	})

	t.Run("LeavesOutNotSpecifiedAndPersonalFields", func(t *testing.T) {
		t.Parallel()
		candidate := map[string]any{
			"name": "Ada Lovelace", "email": "ada@example.com",
			"resume_analysis": map[string]any{
				"career_trajectory": map[string]any{"current_level": "Not specified", "years_experience": 0.0},
				"technical_skills":  []any{"Not specified", "", "Python"},
				"leadership_scope":  map[string]any{"has_leadership": false, "team_size": nil},
				"education":         map[string]any{"highest_degree": "Not specified", "institutions": []any{}},
			},
		}
		want := "Technical Skills: Python\nRole Type: Individual Contributor"
		if got := SearchableText(candidate); got != want {
			t.Errorf("SearchableText = %q, want %q", got, want)
		}
	})

	t.Run("NamesTheLeadershipLevelWithoutATeamSize", func(t *testing.T) {
		t.Parallel()
		candidate := map[string]any{"resume_analysis": map[string]any{
			"leadership_scope": map[string]any{"has_leadership": true, "team_size": nil, "leadership_level": "mentor"},
		}}
		if got, want := SearchableText(candidate), "Leadership: mentor"; got != want {
			t.Errorf("SearchableText = %q, want %q", got, want)
		}
	})

	t.Run("TakesTheFirst15SkillsFromGoSlicesToo", func(t *testing.T) {
		t.Parallel()
		skills := make([]string, 20)
		for i := range skills {
			skills[i] = string(rune('a' + i))
		}
		candidate := map[string]any{"resume_analysis": map[string]any{"technical_skills": skills}}
		want := "Technical Skills: " + strings.Join(skills[:15], ", ")
		if got := SearchableText(candidate); got != want {
			t.Errorf("SearchableText = %q, want %q", got, want)
		}
	})

	t.Run("FallsBackToTheResumeText", func(t *testing.T) {
		t.Parallel()
		candidate := map[string]any{"name": "Ada", "resume_text": "  Nurse, ICU, 2019 - present \n"}
		if got, want := SearchableText(candidate), "Nurse, ICU, 2019 - present"; got != want {
			t.Errorf("SearchableText = %q, want %q", got, want)
		}
	})

	t.Run("EmptyWhenThereIsNothingToEmbed", func(t *testing.T) {
		t.Parallel()
		for _, candidate := range []map[string]any{nil, {"name": "Ada", "resume_text": "   "}} {
			if got := SearchableText(candidate); got != "" {
				t.Errorf("SearchableText(%v) = %q, want \"\"", candidate, got)
			}
		}
	})

	t.Run("CapsAtMaxTextLengthOnARuneBoundary", func(t *testing.T) {
		t.Parallel()
		for name, resume := range map[string]string{
			"ascii":    strings.Repeat("a", 7000),
			"accented": strings.Repeat("é", 7000),
			// Each emoji is two UTF-16 units, as hh-embed-svc counts them.
			"astral": strings.Repeat("😀", 3001),
		} {
			got := SearchableText(map[string]any{"resume_text": resume})
			units := len(utf16.Encode([]rune(got)))
			if units > MaxTextLength || units < MaxTextLength-1 || !utf8.ValidString(got) {
				t.Errorf("%s: %d UTF-16 units (valid UTF-8: %t), want %d and valid",
					name, units, utf8.ValidString(got), MaxTextLength)
			}
		}
	})
}

func TestSearchableTextReadsOnlyTextFields(t *testing.T) {
	t.Parallel()
	full := enrichedCandidate(t)
	full["headline"], full["summary"] = "Builds payment systems", "Ten years of Go."
	only := map[string]any{}
	for _, field := range TextFields {
		if v, ok := full[field]; ok {
			only[field] = v
		}
	}
	if len(only) == len(full) {
		t.Fatal("the test candidate has no field outside TextFields")
	}
	if got, want := SearchableText(only), SearchableText(full); got != want || want == "" {
		t.Errorf("with TextFields only:\n%s\nwith every field:\n%s", got, want)
	}
	// The fallback reads resume_text alone.
	if got := SearchableText(map[string]any{"resume_text": "Go engineer", "name": "Ada"}); got != "Go engineer" {
		t.Errorf("fallback = %q", got)
	}
	for _, field := range TextFields {
		cut := maps.Clone(full)
		delete(cut, field)
		if field != "resume_text" && SearchableText(cut) == SearchableText(full) {
			t.Errorf("SearchableText does not read %s: drop it from TextFields", field)
		}
	}
}
