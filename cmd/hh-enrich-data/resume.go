package main

import (
	"fmt"
	"strings"
)

// maxResumeBytes caps the longest resumes near what real ones weigh as plain text.
const maxResumeBytes = 6200

// layout is how a multi-line resume arranges its jobs.
type layout int

const (
	headedSections  layout = iota // EXPERIENCE / EDUCATION / SKILLS headings, "Title, Employer (dates)"
	employerFirst                 // "Employer — Title, dates", "•" bullets
	stacked                       // title on one line, "Employer | dates" under it
	titleAtEmployer               // "Title at Employer, dates", summary last
	markdown                      // "## Experience", "**Title** | Employer | dates"
	layouts
)

// resume is one person's resume text: a one-liner (about one in ten) or a
// multi-line document in one of the layouts and date styles.
func resume(r *rng, c career, name string) string {
	if r.chance(0.1) {
		return oneLiner(r, c)
	}
	style := dateStyle(r.intn(int(dateStyles)))
	lay := layout(r.intn(int(layouts)))
	target := resumeTarget(r)
	w := &writer{r: r, c: c, style: style}
	for extra := 0; ; extra++ {
		text := w.render(lay, name, extra)
		if len(text) >= target || extra > 60 || len(text) > maxResumeBytes {
			return trimTo(text, maxResumeBytes)
		}
	}
}

// resumeTarget draws a length: most resumes are short, a tail runs to several KB.
func resumeTarget(r *rng) int {
	switch weighted(r, 45, 35, 20) {
	case 0:
		return r.between(200, 900)
	case 1:
		return r.between(900, 2500)
	default:
		return r.between(2500, maxResumeBytes)
	}
}

// trimTo drops whole trailing lines until the text fits.
func trimTo(text string, limit int) string {
	for len(text) > limit {
		cut := strings.LastIndexByte(text, '\n')
		if cut < 0 {
			return text[:limit]
		}
		text = text[:cut]
	}
	return text
}

func oneLiner(r *rng, c career) string {
	t := c.track
	if c.level.name == "intern" && r.chance(0.7) {
		role := strings.ToLower(t.titles[0])
		if r.chance(0.5) {
			return fmt.Sprintf("Recent graduate looking for a first %s role; comfortable with %s.", role, strings.Join(c.skills[:2], " and "))
		}
		return fmt.Sprintf("New grad looking for a first %s job. %s.", role, strings.Join(c.skills[:3], ", "))
	}
	title := c.jobs[0].title
	switch r.intn(3) {
	case 0:
		return fmt.Sprintf("%s with %d years of experience in %s.", title, c.years, strings.Join(c.skills[:3], ", "))
	case 1:
		return fmt.Sprintf("%s at %s with %d years of experience; %s.", title, c.jobs[0].employer, c.years, strings.Join(c.skills, ", "))
	default:
		return fmt.Sprintf("%s with %d years of experience", title, c.years)
	}
}

// writer renders one career in one date style.
type writer struct {
	r     *rng
	c     career
	style dateStyle
	// drawn once so that re-rendering with more extras keeps the rest identical
	bullets [][]string
	degree  string
	extras  []string
}

func (w *writer) prepare() {
	if w.bullets != nil {
		return
	}
	for i := range w.c.jobs {
		n := w.r.between(1, 3)
		if i == 0 {
			n++
		}
		w.bullets = append(w.bullets, w.jobBullets(i, n))
	}
	w.degree = degreeLine(w.r, w.c)
	for i := range 60 {
		w.extras = append(w.extras, extraLine(w.r, w.c, i))
	}
}

func (w *writer) jobBullets(idx, n int) []string {
	c, r := w.c, w.r
	var out []string
	if idx == 0 && c.level.name != "intern" && leads(c.level) {
		size := pick(r, []int{4, 6, 9, 14, 25, 60, 140})
		out = append(out, fmt.Sprintf("Led a team of %d; hired %d and ran their performance reviews.", size, max(1, size/3)))
	} else if c.track.name != "clinical" && r.chance(0.2) {
		out = append(out, fmt.Sprintf("Mentored %d junior colleagues.", r.between(1, 4)))
	}
	for _, b := range sample(r, c.track.bullets, n) {
		out = append(out, fill(r, b, c.skills))
	}
	return out
}

func leads(lv level) bool {
	switch lv.name {
	case "manager", "director", "vp", "chief":
		return true
	}
	return false
}

func fill(r *rng, template string, skills []string) string {
	return strings.NewReplacer("{skill}", pick(r, skills), "{n}", fmt.Sprint(r.between(2, 48)),
		"{pct}", fmt.Sprint(r.between(8, 65))).Replace(template)
}

// degreeLine names a degree, a school and (sometimes) when; the years sit on the
// degree's own line so no reader takes them for a job.
func degreeLine(r *rng, c career) string {
	fields := fieldsByTrack[c.track.name]
	spelling := pick(r, degreeSpellings)
	if c.track.name == "clinical" {
		spelling = pick(r, []string{"Bachelor of Science in Nursing (BSN)", "BSN, Nursing", "Master of Science in {field} (MSN)"})
	}
	degree := strings.ReplaceAll(spelling, "{field}", pick(r, fields))
	s := pick(r, schools)
	grad := c.jobs[len(c.jobs)-1].startY - r.between(0, 2)
	switch r.intn(3) {
	case 0:
		return fmt.Sprintf("%s, %s (%d - %d)", degree, s.name, grad-4, grad)
	case 1:
		return fmt.Sprintf("%s, %s, %d", degree, s.name, grad)
	default:
		return fmt.Sprintf("%s — %s", degree, s.name)
	}
}

// extraLine is what long resumes carry besides jobs: projects, talks, awards.
func extraLine(r *rng, c career, i int) string {
	skill := pick(r, c.skills)
	switch r.intn(5) {
	case 0:
		return fmt.Sprintf("Project %d: rewrote the %s import path; %d%% fewer failures.", i+1, skill, r.between(10, 90))
	case 1:
		return fmt.Sprintf("Talk: \"What %d outages taught us about %s\", regional meetup.", r.between(2, 30), skill)
	case 2:
		return fmt.Sprintf("Volunteer: taught %s to %d students at a weekend bootcamp.", skill, r.between(5, 40))
	case 3:
		return fmt.Sprintf("Award: internal excellence award for the %s programme (%d nominees).", skill, r.between(10, 200))
	default:
		return fmt.Sprintf("Open source: maintainer of a %s library with %d contributors.", skill, r.between(3, 120))
	}
}
