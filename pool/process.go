package pool

import (
	"fmt"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// process is one long-lived plugin process. Its fields other than inflight (guarded
// by Pool.mu) are set once at start.
type process struct {
	slot    int // which of the pool's Size places it fills; kept across replacements
	pid     int
	started time.Time
	plugin  *plugin.Client
	rpc     *pyplugin.Client

	inflight int  // calls now running on it; guarded by Pool.mu
	retired  bool // removed from the pool on purpose; guarded by Pool.mu

	served atomic.Int64 // successful calls
}

// startProcess starts one plugin process and waits for its handshake. A fresh
// ClientConfig and exec.Cmd each time: go-plugin clients cannot be restarted.
func startProcess(cfg Config, slot int, log hclog.Logger) (*process, error) {
	cmd := exec.Command(cfg.PythonPath, cfg.PluginScript)
	cmd.Env = append([]string(nil), cfg.Env...)
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pyplugin.Handshake,
		Plugins:          plugin.PluginSet{pyplugin.PluginName: pyplugin.GRPCPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     cfg.StartTimeout,
		// The plugin's environment is exactly cfg.Env: go-plugin would otherwise append
		// the host's, and a duplicate key would take the host's value.
		SkipHostEnv: true,
		Managed:     false,
		Logger:      log.Named(fmt.Sprintf("plugin-%d", slot)),
	})
	if _, err := pc.Start(); err != nil {
		pc.Kill()
		return nil, fmt.Errorf("pool: start plugin %d: %w", slot, err)
	}
	rpc, err := pyplugin.Dispense(pc)
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("pool: plugin %d: %w", slot, err)
	}
	return &process{slot: slot, pid: cmd.Process.Pid, started: time.Now(), plugin: pc, rpc: rpc}, nil
}

// kill stops the process: a Shutdown call first, SIGKILL if it does not exit.
// Safe to call more than once; it returns once the process is gone.
func (p *process) kill() { p.plugin.Kill() }

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.rpc.Exited():
		return true
	default:
		return false
	}
}

// ProcessInfo describes one plugin process, for the admin API and tests.
type ProcessInfo struct {
	Slot       int
	PID        int
	StartedAt  time.Time
	InFlight   int
	JobsServed int64
}
