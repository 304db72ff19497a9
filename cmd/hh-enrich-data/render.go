package main

import (
	"fmt"
	"strings"
)

// render writes the resume in one layout with the first `extras` extra lines.
func (w *writer) render(lay layout, name string, extras int) string {
	w.prepare()
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	summary := w.summary()
	switch lay {
	case headedSections:
		line("%s", strings.ToUpper(name))
		line("%s", summary)
		line("EXPERIENCE")
		w.jobs(func(j job, date string) { line("%s, %s %s", j.title, j.employer, date) }, "- ", line)
		line("EDUCATION")
		line("%s", w.degree)
		line("SKILLS")
		line("%s", strings.Join(w.c.skills, ", "))
	case employerFirst:
		line("%s", summary)
		w.jobs(func(j job, date string) { line("%s — %s, %s", j.employer, j.title, date) }, "• ", line)
		line("Education: %s", w.degree)
		line("Skills: %s", strings.Join(w.c.skills, " · "))
	case stacked:
		line("%s", name)
		line("%s", summary)
		line("Work experience")
		w.jobs(func(j job, date string) { line("%s\n%s | %s", j.title, j.employer, date) }, "• ", line)
		line("Education")
		line("%s", w.degree)
		line("Tools: %s", strings.Join(w.c.skills, ", "))
	case titleAtEmployer:
		w.jobs(func(j job, date string) { line("%s at %s, %s", j.title, j.employer, date) }, "* ", line)
		line("%s", w.degree)
		line("Skills: %s", strings.Join(w.c.skills, "; "))
		line("Summary: %s", summary)
	default:
		line("# %s", name)
		line("> %s", summary)
		line("## Experience")
		w.jobs(func(j job, date string) { line("**%s** | %s | %s", j.title, j.employer, date) }, "* ", line)
		line("## Education")
		line("%s", w.degree)
		line("## Skills")
		line("%s", "`"+strings.Join(w.c.skills, "` `")+"`")
	}
	if extras > 0 {
		line("Projects and more")
		for _, e := range w.extras[:extras] {
			line("- %s", e)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// jobs writes each job's header (with its dates) and its bullets.
func (w *writer) jobs(header func(j job, date string), bullet string, line func(string, ...any)) {
	for i, j := range w.c.jobs {
		header(j, w.style.format(j))
		for _, text := range w.bullets[i] {
			line("%s%s", bullet, text)
		}
	}
}

// summary opens (or closes) the resume. It claims "N+ years" only where the
// dates let a reader check it; elsewhere it speaks of the work instead.
func (w *writer) summary() string {
	c := w.c
	role := strings.ToLower(c.track.titles[0])
	adjective := "Motivated"
	if c.years >= 8 {
		adjective = "Seasoned"
	}
	if w.style.claimsYears() {
		return fmt.Sprintf("%s %s with %d+ years of experience: %s.", adjective, role, c.years, strings.Join(c.skills[:3], ", "))
	}
	return fmt.Sprintf("%s %s who likes %s and %s.", adjective, role, c.skills[0], c.skills[1])
}
