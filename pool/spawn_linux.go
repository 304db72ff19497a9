package pool

import "syscall"

// parentDeathAttr makes the kernel SIGKILL the plugin when its parent thread ends;
// spawner threads end only with the host. SIGKILL, because a plugin stuck in a
// spinning call could not act on a catchable signal.
func parentDeathAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
