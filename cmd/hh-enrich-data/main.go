// Command hh-enrich-data writes the repository's candidates data set: synthetic,
// Firestore-shaped candidate documents (candidate_id, name, email, resume_text,
// recruiter_comments, org_id, uploaded_at, status, metadata), one JSON object a
// line. The same seed and count always give the same bytes; candidate i does not
// depend on the count, so -n 5000 extends the committed file.
//
// The resumes vary the way real ones do: nine role tracks, intern to chief, five
// date styles, five layouts, one-liners to ~6 KB, career breaks, Windows line
// endings; some documents lack a resume, comments, or both. The committed copy,
// testdata/candidates.jsonl, is what the tests, `make bench`, `make chaos` and the
// README's examples read; `make data` rewrites it and a test keeps it current.
//
//	hh-enrich-data [-n 1000] [-seed 20261204] [-out path]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
)

// Defaults of the committed data set.
const (
	defaultCount = 1000
	defaultSeed  = 20261204
)

func main() {
	fs := flag.NewFlagSet("hh-enrich-data", flag.ContinueOnError)
	n := fs.Int("n", defaultCount, "how many candidates")
	seed := fs.Uint64("seed", defaultSeed, "generator seed")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := run(*out, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "hh-enrich-data:", err)
		os.Exit(1)
	}
}

func run(out string, n int, seed uint64) error {
	if n < 1 {
		return fmt.Errorf("-n %d: want at least 1", n)
	}
	if out == "-" {
		w := bufio.NewWriter(os.Stdout)
		if err := write(w, n, seed); err != nil {
			return err
		}
		return w.Flush()
	}
	var buf bytes.Buffer
	if err := write(&buf, n, seed); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// write writes n candidates as JSON lines.
func write(w io.Writer, n int, seed uint64) error {
	var buf bytes.Buffer
	for i := range n {
		buf.Reset()
		if err := candidate(seed, i).encode(&buf); err != nil {
			return fmt.Errorf("candidate %d: %w", i, err)
		}
		buf.WriteByte('\n')
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
