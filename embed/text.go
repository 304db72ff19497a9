package embed

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// MaxTextLength is the most text hh-embed-svc accepts in one upsert, in
// JavaScript string length (UTF-16 code units), which is how it counts. A longer
// text is refused, and the service we replace retried that refusal until its
// breaker opened (W14).
const MaxTextLength = 6000

// TextFields are the candidate's top-level fields SearchableText reads: a caller
// holding the document encoded decodes these and may leave the rest.
var TextFields = []string{"resume_analysis", "recruiter_insights", "current_title", "headline", "summary", "resume_text"}

// Caps on list lengths in the searchable text.
const (
	maxSkills     = 15
	maxDomains    = 5
	maxCompanies  = 5
	maxStrengths  = 5
	maxThemes     = 5
	notSpecified  = "not specified" // the enrichers' word for missing data, lower-cased
	textSeparator = "\n"
)

// SearchableText is the text embedded for a candidate document: one line per
// piece of enrichment that is present, from the fields the enrichers write
// (W14), in this order:
//
//	Technical Skills: resume_analysis.technical_skills (first 15)
//	Current Role: current_title
//	Experience: N years (resume_analysis.career_trajectory.years_experience)
//	Seniority: …career_trajectory.current_level
//	Domain: …career_trajectory.domain_expertise (first 5)
//	Leadership: Managing N people, or Leadership: <leadership_level>, or
//	  Role Type: Individual Contributor (resume_analysis.leadership_scope)
//	Companies: resume_analysis.company_pedigree.recent_companies (first 5)
//	Company Tier: …company_pedigree.tier_level
//	Education: resume_analysis.education.highest_degree, institutions (first 5)
//	Strengths: recruiter_insights.strengths (first 5)
//	Themes: recruiter_insights.key_themes (first 5)
//	Headline: headline
//	Summary: summary
//
// Free-text fields come last so that the cap cuts them, not the structured lines.
// Values the enrichers write for missing data ("Not specified") are left out, and
// so are personal fields (name, email). With no line at all it falls back to
// resume_text. The result is trimmed and cut, on a rune boundary, to
// MaxTextLength UTF-16 units. "" means there is nothing to embed.
//
// It reads the candidate's TextFields and nothing else.
func SearchableText(candidate map[string]any) string {
	analysis := object(candidate["resume_analysis"])
	trajectory := object(analysis["career_trajectory"])
	insights := object(candidate["recruiter_insights"])
	pedigree := object(analysis["company_pedigree"])
	lines := []string{
		line("Technical Skills", list(analysis["technical_skills"], maxSkills)),
		line("Current Role", text(candidate["current_title"])),
		experienceLine(trajectory["years_experience"]),
		line("Seniority", text(trajectory["current_level"])),
		line("Domain", list(trajectory["domain_expertise"], maxDomains)),
		leadershipLine(object(analysis["leadership_scope"])),
		line("Companies", list(pedigree["recent_companies"], maxCompanies)),
		line("Company Tier", text(pedigree["tier_level"])),
		educationLine(object(analysis["education"])),
		line("Strengths", list(insights["strengths"], maxStrengths)),
		line("Themes", list(insights["key_themes"], maxThemes)),
		line("Headline", text(candidate["headline"])),
		line("Summary", text(candidate["summary"])),
	}
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(textSeparator)
		}
		b.WriteString(l)
	}
	out := b.String()
	if out == "" {
		out = text(candidate["resume_text"])
	}
	return truncateUTF16(out, MaxTextLength)
}

func line(label, value string) string {
	if value == "" {
		return ""
	}
	return label + ": " + value
}

func experienceLine(v any) string {
	years, ok := number(v)
	if !ok || years <= 0 {
		return ""
	}
	return "Experience: " + strconv.FormatFloat(years, 'f', -1, 64) + " years"
}

func leadershipLine(scope map[string]any) string {
	has, ok := scope["has_leadership"].(bool)
	switch {
	case !ok:
		return ""
	case !has:
		return "Role Type: Individual Contributor"
	}
	if team, ok := number(scope["team_size"]); ok && team > 0 {
		return fmt.Sprintf("Leadership: Managing %s people", strconv.FormatFloat(team, 'f', -1, 64))
	}
	return line("Leadership", text(scope["leadership_level"]))
}

func educationLine(education map[string]any) string {
	parts := []string{text(education["highest_degree"]), list(education["institutions"], maxCompanies)}
	return line("Education", joinPresent(parts))
}

// object returns v as a JSON object, or nil.
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// text returns v as a trimmed string, "" for anything else or for "Not specified".
func text(v any) string {
	s, _ := v.(string)
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, notSpecified) {
		return ""
	}
	return s
}

// list joins the first n present strings of v, a JSON array (or []string).
func list(v any, n int) string {
	var items []string
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			items = append(items, text(e))
		}
	case []string:
		for _, e := range v {
			items = append(items, text(e))
		}
	}
	present := make([]string, 0, min(len(items), n))
	for _, item := range items {
		if item != "" && len(present) < n {
			present = append(present, item)
		}
	}
	return strings.Join(present, ", ")
}

func joinPresent(parts []string) string {
	present := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			present = append(present, p)
		}
	}
	return strings.Join(present, ", ")
}

// number returns v as a float64 for any JSON or Go number.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// truncateUTF16 cuts s to at most limit UTF-16 code units, never inside a rune.
func truncateUTF16(s string, limit int) string {
	s = strings.TrimSpace(s)
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > limit {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}
