package main

// rng is splitmix64: a few lines whose output is fixed by its definition, so the
// committed data set stays byte-identical across Go releases (math/rand/v2 keeps
// its generators stable, but not the helpers such as IntN or Shuffle built on them).
type rng struct{ state uint64 }

// newRNG seeds one candidate's generator from the data set's seed and the
// candidate's index: candidate i is the same whatever the count, so a larger
// data set (-n 5000) starts with the committed one.
func newRNG(seed uint64, index int) *rng {
	r := &rng{state: seed ^ (uint64(index)+1)*0x9e3779b97f4a7c15}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n); the modulo bias (n / 2^64) is immaterial here.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

func pick[T any](r *rng, items []T) T { return items[r.intn(len(items))] }

// sample returns k distinct items in a random order (a partial Fisher-Yates shuffle
// of a copy).
func sample[T any](r *rng, items []T, k int) []T {
	c := append([]T(nil), items...)
	k = min(k, len(c))
	for i := range k {
		j := i + r.intn(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}

// weighted returns an index drawn with the given weights.
func weighted(r *rng, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.intn(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}
