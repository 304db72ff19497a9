//go:build !linux

package pool

import "syscall"

// parentDeathAttr: other systems have no parent-death signal; the plugin's own
// parent watcher (plugin_server.py) ends it when the host goes.
func parentDeathAttr() *syscall.SysProcAttr { return nil }
