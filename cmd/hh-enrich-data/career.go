package main

import "fmt"

// presentYear is the year resumes are written in; the rules enricher reads
// "present" as January of it, so every current job starts a year or more before.
const presentYear = 2026

// level is one rung of the seniority ladder, intern to chief.
type level struct {
	name     string // as stored in metadata.seniority
	word     string // the title's level word, "" for none
	minYears int
	maxYears int
}

var ladder = []level{
	{"intern", "Intern", 1, 1}, {"junior", "Junior", 1, 2}, {"mid", "", 2, 5}, {"senior", "Senior", 5, 10},
	{"staff", "Staff", 8, 15}, {"principal", "Principal", 12, 20},
	{"manager", "", 6, 14}, {"director", "", 10, 20}, {"vp", "", 14, 25}, {"chief", "", 16, 30},
}

// icLevels are the first six rungs: what someone was before managing.
const icLevels = 6

// job is one dated position, most recent first in a career.
type job struct {
	title, employer string
	startY, startM  int // month 1-12
	endY, endM      int
	current         bool
	bullets         []string
}

// career is the jobs of one person and the years they add up to.
type career struct {
	track  track
	level  level
	years  int // union of the jobs' spans, in whole years (what the summary claims)
	jobs   []job
	skills []string
}

func newCareer(r *rng, t track) career {
	lv := ladder[weighted(r, 6, 12, 20, 22, 8, 4, 10, 7, 4, 3)]
	c := career{track: t, level: lv, skills: sample(r, t.skills, r.between(3, min(9, len(t.skills))))}
	total := r.between(lv.minYears, lv.maxYears)
	year, month := presentYear, r.between(1, 12)
	for worked := 0; worked < total; {
		span := min(total-worked, r.between(1, 5))
		start := year - span
		j := job{employer: employerFor(r, t), startY: start, startM: r.between(1, 12), endY: year, endM: month,
			current: worked == 0}
		j.title = c.titleAt(r, len(c.jobs), total-worked-span, span)
		c.jobs = append(c.jobs, j)
		worked += span
		year, month = start, j.startM
		if worked < total && r.chance(0.12) { // a career break: a year with no job
			year--
		}
	}
	c.years = total
	return c
}

// titleAt is the title of the idx-th most recent job, begun with `before` years
// of experience behind it and held for `span` years (nobody interns for two).
func (c career) titleAt(r *rng, idx, before, span int) string {
	if idx == 0 && c.level.name == "manager" {
		return c.track.manager
	}
	if idx == 0 {
		switch c.level.name {
		case "director":
			return c.track.director
		case "vp":
			return c.track.vp
		case "chief":
			return c.track.chief
		}
	}
	rung := ladder[0]
	for _, lv := range ladder[:icLevels] {
		if lv.minYears <= before || lv.name == "intern" {
			rung = lv
		}
	}
	if idx == 0 && c.level.name != "manager" && c.level.name != "director" && c.level.name != "vp" && c.level.name != "chief" {
		rung = c.level
	}
	if rung.name == "intern" && span > 1 {
		rung = ladder[1]
	}
	return icTitle(pick(r, c.track.titles), rung)
}

func icTitle(base string, lv level) string {
	switch lv.word {
	case "":
		return base
	case "Intern":
		return base + " Intern"
	default:
		return lv.word + " " + base
	}
}

func employerFor(r *rng, t track) string {
	if len(t.employer) > 0 {
		return pick(r, t.employer)
	}
	return pick(r, techEmployers)
}

var monthAbbr = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var monthName = []string{"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// dateStyle is how one resume writes its ranges. Only year-only styles and
// three-letter months let a reader check the summary's "N+ years" against the
// ranges, so the others never make that claim (see summary).
type dateStyle int

const (
	yearsInParens dateStyle = iota // (2019 - 2023), (2023 - Present)
	shortMonths                    // Mar 2019 – Jun 2023, Mar 2023 – Present
	yearsEnDash                    // 2019–2023, 2023–now
	numericMonths                  // 03/2019 - 06/2023, 03/2023 - present
	longMonths                     // January 2019 to June 2023, January 2023 to current
	dateStyles
)

func (s dateStyle) claimsYears() bool {
	return s == yearsInParens || s == shortMonths || s == yearsEnDash
}

func (s dateStyle) format(j job) string {
	switch s {
	case yearsInParens:
		return fmt.Sprintf("(%d - %s)", j.startY, endOr(j, fmt.Sprint(j.endY), "Present"))
	case shortMonths:
		return fmt.Sprintf("%s %d – %s", monthAbbr[j.startM-1], j.startY,
			endOr(j, fmt.Sprintf("%s %d", monthAbbr[j.endM-1], j.endY), "Present"))
	case yearsEnDash:
		return fmt.Sprintf("%d–%s", j.startY, endOr(j, fmt.Sprint(j.endY), "now"))
	case numericMonths:
		return fmt.Sprintf("%02d/%d - %s", j.startM, j.startY, endOr(j, fmt.Sprintf("%02d/%d", j.endM, j.endY), "present"))
	default:
		return fmt.Sprintf("%s %d to %s", monthName[j.startM-1], j.startY,
			endOr(j, fmt.Sprintf("%s %d", monthName[j.endM-1], j.endY), "current"))
	}
}

func endOr(j job, end, now string) string {
	if j.current {
		return now
	}
	return end
}
