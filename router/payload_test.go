package router

import "testing"

func TestHasLoneSurrogate(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"a":"bad \ud800 x"}`:                true,
		`{"a":"\udc00"}`:                      true,
		`{"a":"\ud800"}`:                      true,
		`{"a":"\ud800\u0041"}`:                true,
		`{"a":"\ud800\ud800\udc00"}`:          true,
		`{"a":"\ud800\n"}`:                    true,
		`{"a":"😀 \ud83d\ude00 \uD83D\uDE00"}`: false,
		`{"a":"\\ud800"}`:                     false, // an escaped backslash, then text
		`{"a":"\u00e9\n\"\\"}`:                false,
		`{"a":1}`:                             false,
	} {
		if got := hasLoneSurrogate([]byte(raw)); got != want {
			t.Errorf("%s: %v, want %v", raw, got, want)
		}
	}
}
