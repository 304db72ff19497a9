package main

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNeedleSet(t *testing.T) {
	t.Parallel()
	set := newNeedleSet([]needle{
		{"Ada Lovelace", "name"}, {"ada@example.com", "email"}, {"short", "name"}, {"Ada Lovelace", "name"},
	})
	t.Run("DropsShortAndRepeatedNeedles", func(t *testing.T) {
		t.Parallel()
		if set.len() != 2 {
			t.Errorf("%d needles, want 2", set.len())
		}
	})
	t.Run("FindsEveryOccurrenceWithItsOffset", func(t *testing.T) {
		t.Parallel()
		text := `{"@message":"x","name":"Ada Lovelace"} mail ada@example.com; Ada Lovelac`
		var got []string
		set.scan([]byte(text), func(n needle, offset int) {
			got = append(got, n.kind+"@"+text[offset:offset+len(n.value)])
		})
		want := []string{"name@Ada Lovelace", "email@ada@example.com"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hits (-want +got):\n%s", diff)
		}
	})
}

func TestLogForms(t *testing.T) {
	t.Parallel()
	got := logForms("Tomás \"T\" R&D\nx")
	want := []string{"Tomás \"T\" R&D\nx", `Tomás \"T\" R\u0026D\nx`, `Tom\u00e1s \"T\" R&D\nx`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forms (-want +got):\n%s", diff)
	}
	if got := asciiJSON("😀"); got != `\ud83d\ude00` {
		t.Errorf("asciiJSON of an astral character = %q, want a surrogate pair as Python writes it", got)
	}
}

func TestPIISnippet(t *testing.T) {
	t.Parallel()
	if got := piiSnippet("  Senior Backend Engineer, Stripe (2019 - present)\nmore", 20); got != "Senior Backend Engineer, Stripe (2019 - " {
		t.Errorf("got %q: want the first line cut to 40 bytes", got)
	}
	if got := piiSnippet("Go dev", 20); got != "" {
		t.Errorf("got %q: a short text is not searched for", got)
	}
	if got := piiSnippet(strings.Repeat("é", 30), 20); len(got) > 40 || !strings.HasPrefix(strings.Repeat("é", 30), got) {
		t.Errorf("got %q: want a cut on a character boundary", got)
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	t.Run("TheSameSeedMakesTheSameInputs", func(t *testing.T) {
		t.Parallel()
		a := badInputs(rand.New(rand.NewPCG(1, 300)), 300, "canary")
		b := badInputs(rand.New(rand.NewPCG(1, 300)), 300, "canary")
		if len(a) != 300 {
			t.Fatalf("%d inputs, want 300", len(a))
		}
		for i := range a {
			if a[i].method != b[i].method || a[i].path != b[i].path || string(a[i].body) != string(b[i].body) {
				t.Fatalf("input %d differs", i)
			}
		}
	})
	t.Run("SomeBodiesCarryTheCanary", func(t *testing.T) {
		t.Parallel()
		n := 0
		for _, in := range badInputs(rand.New(rand.NewPCG(1, 300)), 300, "Zebulon Canarywright") {
			if strings.Contains(string(in.body), "Zebulon Canarywright") {
				n++
			}
		}
		if n == 0 {
			t.Error("no input carries the canary")
		}
	})
}
