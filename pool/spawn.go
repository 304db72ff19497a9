package pool

import (
	"os/exec"
	"runtime"
)

// The kernel's parent-death signal (Linux: exec.Cmd's SysProcAttr.Pdeathsig) fires
// when the OS *thread* that forked the child ends, not when the host process does.
// Go ends a thread when a goroutine locked to it returns, so a plugin forked from an
// arbitrary goroutine's thread could be SIGKILLed long before the host dies. Plugins
// are therefore forked from spawner threads: goroutines locked to their thread that
// never return, so their threads end only with the host.

// spawnJobs hands a start to an idle spawner thread.
var spawnJobs = make(chan func())

// onSpawnerThread runs start on a spawner thread and returns once it returned. A new
// spawner thread is made only when none is idle, so there are at most as many as
// starts ever ran at once.
func onSpawnerThread(start func()) {
	done := make(chan struct{})
	job := func() {
		defer close(done)
		start()
	}
	select {
	case spawnJobs <- job:
	default:
		go spawnerThread(job)
	}
	<-done
}

// spawnerThread runs first, then every job handed to it, for the life of the host.
func spawnerThread(first func()) {
	runtime.LockOSThread() // never unlocked, and the goroutine never returns: see above
	for job := first; ; job = <-spawnJobs {
		job()
	}
}

// withParentDeathSignal asks the kernel to SIGKILL the plugin when the host dies
// (where the OS supports it; see parentDeathAttr).
func withParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = parentDeathAttr()
}
