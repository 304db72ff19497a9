package redistest

import "syscall"

// sysProcAttr has the kernel kill the server if the test binary dies without
// running its cleanups (a test timeout panics, a developer hits ^C), so no
// redis-server outlives its tests. The signal follows the OS thread that
// started the server, which Go ends only when a goroutine exits while locked
// to it; the testing package does not lock test goroutines to threads.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
