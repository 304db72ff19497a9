//go:build unix

package main

import (
	"os"
	"syscall"
)

// lockFile takes f for this process alone, or fails at once when another
// process holds it: two runs appending to one results file would write each
// candidate twice. The lock ends with the process, however it ends.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
