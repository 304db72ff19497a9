// Package console tells whether output goes to a terminal, so the commands draw
// progress bars (which redraw a line in place) only where someone watches them,
// and write plain periodic lines to files, pipes and CI logs.
package console

import (
	"io"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal: an *os.File (or anything with a file
// descriptor) open on a tty.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
