package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// resultLine is one line of the results file: a candidate whose job is terminal.
type resultLine struct {
	CandidateID  string          `json:"candidateId"`
	JobID        string          `json:"jobId"`
	Status       string          `json:"status"` // completed, failed, or expired (record gone)
	ErrorCode    string          `json:"errorCode,omitempty"`
	Error        string          `json:"error,omitempty"`
	AttemptCount int             `json:"attemptCount"`
	Result       json.RawMessage `json:"result,omitempty"` // only with --results=full
}

// resultsFile is the batch's output: one line per candidate, appended once its
// job is terminal. It is what makes a rerun resume: candidates already in it are
// skipped, so each candidate appears exactly once however often the run is
// interrupted.
//
// Each line goes out in one write on a file opened O_APPEND, so a killed process
// leaves whole lines behind; a torn last line (a machine crash, a full disk: no
// newline, and the start of one of our lines) is dropped when the file is opened
// again, and its candidate is done again. Anything else that is not a result
// line refuses the run: the file is not this tool's, and must not be cut.
// One run at a time holds the file (lockFile).
type resultsFile struct {
	f    *os.File
	path string
	// done holds the status of every candidate already in the file.
	done map[string]string
	// dropped is the size of a torn last line cut off at open (0: none).
	dropped int
	dirty   bool
}

// resultLinePrefix starts every line Append writes (resultLine's first field).
const resultLinePrefix = `{"candidateId":`

// openResults opens (or creates) the results file at path, takes it for this run
// and reads what a previous run wrote. A line that is not a result line is an
// error, unless it is a torn last one: guessing could cut a file that is not
// ours, or duplicate candidates.
func openResults(path string) (*resultsFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: another hh-enrich batch is writing it (%w): wait for it, or use another --out", path, err)
	}
	r := &resultsFile{f: f, path: path, done: map[string]string{}}
	if err := r.load(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// load reads every line, records its candidate, and truncates a torn last line.
func (r *resultsFile) load() error {
	reader := bufio.NewReaderSize(r.f, 1<<20)
	var good int64 // end of the last whole, valid line
	for n := 1; ; n++ {
		line, err := reader.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil
			}
			// A torn write is the start of one of our lines, however short.
			prefix := []byte(resultLinePrefix)
			if !bytes.HasPrefix(line, prefix) && !bytes.HasPrefix(prefix, line) {
				return notAResultLine(r.path, n, line)
			}
			r.dropped = len(line) // our line, its write cut short
			return r.f.Truncate(good)
		}
		if err != nil {
			return err
		}
		var res resultLine
		if jsonErr := json.Unmarshal(line, &res); jsonErr != nil || res.CandidateID == "" {
			return notAResultLine(r.path, n, line)
		}
		if _, dup := r.done[res.CandidateID]; dup {
			return fmt.Errorf("%s line %d: candidate %q appears twice: the file was edited or written by two runs at once", r.path, n, res.CandidateID)
		}
		r.done[res.CandidateID] = res.Status
		good += int64(len(line))
	}
}

func notAResultLine(path string, n int, line []byte) error {
	return fmt.Errorf("%s line %d is not a result line (%q…): --out must name a file this tool writes; fix or move it", path, n, truncate(line, 60))
}

// rerun rewrites the file without the lines of the candidates in ids, so they
// run again: into a temporary file beside it, synced, then renamed over it, so a
// crash leaves either the old file or the new one. The new file is taken for
// this run like the old one.
func (r *resultsFile) rerun(ids map[string]bool) error {
	if len(ids) == 0 {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.path), filepath.Base(r.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename this removes nothing
	if err := lockFile(tmp); err != nil {
		tmp.Close()
		return err
	}
	if info, err := r.f.Stat(); err == nil {
		_ = tmp.Chmod(info.Mode().Perm()) // CreateTemp's 0600 would otherwise replace it
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return err
	}
	w := bufio.NewWriter(tmp)
	err = scanLines(r.f, func(_ int, line []byte) error {
		var res resultLine
		if err := json.Unmarshal(line, &res); err != nil {
			return err // load has read every line already: not reached
		}
		if ids[res.CandidateID] {
			return nil // left out: the candidate runs again
		}
		_, err := w.Write(append(line, '\n'))
		return err
	})
	err = errors.Join(err, w.Flush(), tmp.Sync())
	if err == nil {
		err = os.Rename(tmp.Name(), r.path)
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("rewriting %s without the candidates to run again: %w", r.path, err)
	}
	for id := range ids {
		delete(r.done, id)
	}
	// The renamed file, still open and locked, is the results file from now on.
	old := r.f
	r.f = tmp
	return old.Close()
}

// Has reports whether candidateID already has a line.
func (r *resultsFile) Has(candidateID string) bool {
	_, ok := r.done[candidateID]
	return ok
}

// Append writes one result line with a single write.
func (r *resultsFile) Append(res resultLine) error {
	if r.Has(res.CandidateID) {
		// Never reached while the batch submits each candidate once; a guard that the
		// file's one promise (exactly once) cannot be broken by a bug elsewhere.
		return nil
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if _, err := r.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", r.path, err)
	}
	r.done[res.CandidateID] = res.Status
	r.dirty = true
	return nil
}

// Sync flushes the lines written so far to disk.
func (r *resultsFile) Sync() error {
	if !r.dirty {
		return nil
	}
	r.dirty = false
	return r.f.Sync()
}

// Close syncs and closes the file.
func (r *resultsFile) Close() error {
	return errors.Join(r.Sync(), r.f.Close())
}

func truncate(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
