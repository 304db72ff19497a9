//go:build !linux

package redistest

import "syscall"

// sysProcAttr is empty where there is no parent-death signal; the server is
// still killed by the test's cleanup.
func sysProcAttr() *syscall.SysProcAttr { return nil }
