package main

import (
	"fmt"
	"strings"
)

var (
	praise = []string{"Excellent communicator.", "Strong system design; drew the whole architecture unprompted.",
		"Great culture add.", "Very collaborative in the pairing exercise.", "Impressive ownership of outcomes.",
		"Clear, structured thinker.", "Team player, references glowing.", "Quick learner: picked up our stack in the take-home.",
		"Thoughtful questions about how we ship.", "Deep expertise in the domain.", "Highly recommend moving forward."}
	concerns = []string{"Concern about salary expectations.", "Job hopping in the last few years.",
		"Weak answers on testing.", "Needs visa sponsorship.", "Was late to the first call.",
		"Notice period is three months.", "Would need relocation support.", "Limited experience with our scale.",
		"Seemed hesitant about on-call.", "Has a counter-offer from the current employer."}
	neutral = []string{"Available from next month.", "Prefers hybrid, two days in the office.",
		"Interviewed for the platform team too.", "Asked about the equity refresh policy.", "Speaks Portuguese and English."}
	redFlags = []string{"No-show for the onsite without notice.", "Misrepresented the title held at the last employer.",
		"Was rude to the coordinator."}
	interviewers = []string{"Ana", "Bo", "Chidi", "Dana", "Eun-ji", "Femi", "Grete"}
	flourishes   = []string{" 🚀", " 👍", " (!!)", " <b>must hire</b>", " & then some", " — \"a natural\""}
)

// comments are what recruiters wrote: nothing, a line, or interview notes; now
// and then with emoji, markup or quotes pasted in.
func comments(r *rng) string {
	switch weighted(r, 10, 55, 25, 10) {
	case 0:
		return ""
	case 1:
		return sentences(r)
	case 2:
		var notes []string
		for i, stage := range []string{"Phone screen", "Technical", "Onsite", "Debrief"}[:r.between(2, 4)] {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", stage, interviewers[(i+r.intn(3))%len(interviewers)], sentences(r)))
		}
		return strings.Join(notes, "\n")
	default:
		return sentences(r) + pick(r, flourishes)
	}
}

func sentences(r *rng) string {
	var out []string
	out = append(out, sample(r, praise, weighted(r, 15, 45, 30, 10))...)
	out = append(out, sample(r, concerns, weighted(r, 50, 40, 10))...)
	if r.chance(0.3) {
		out = append(out, pick(r, neutral))
	}
	if r.chance(0.03) {
		out = append(out, pick(r, redFlags))
	}
	if len(out) == 0 {
		out = append(out, pick(r, neutral))
	}
	return strings.Join(out, " ")
}
