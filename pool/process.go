package pool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// Process states, as the admin API shows them.
const (
	StateReady      = "ready"      // takes calls
	StateRecycling  = "recycling"  // takes calls while its replacement starts
	StateDraining   = "draining"   // takes no calls; stops once its calls return
	StateRetired    = "retired"    // stopped, or being stopped
	stateUnassigned = "unassigned" // not yet in the pool
)

// process is one long-lived plugin process. The fields under "guarded" change only
// with Pool.mu held; the others are set once at start.
type process struct {
	slot int // which of the pool's Size places it fills; kept across replacements
	pid  int
	cmd  *exec.Cmd
	// socketDir is the plugin's private socket folder, removed once the process is
	// gone: a plugin killed with SIGKILL cannot remove it itself.
	socketDir string
	started   time.Time
	plugin    *plugin.Client
	rpc       *pyplugin.Client
	breaker   *circuit
	// callLimit is the enricher's own bound on one call (Describe's call_limit_ms),
	// or 0. A call running longer is spinning: the host's deadline ends it.
	callLimit time.Duration
	// maxAge is Config.MaxAge less this process's jitter, so processes started
	// together are not all recycled in the same round.
	maxAge time.Duration

	// guarded by Pool.mu
	state     string
	inflight  int
	served    int64
	failures  int64
	lastError string
	// calls counts the calls ever given to this process; running holds the start of
	// each call in flight, by that number (the admin API shows the oldest).
	calls   int64
	running map[int64]time.Time
	// suspects counts the calls in flight that already cost a process before: if
	// this process dies, its death is theirs, not a sign of a crash loop.
	suspects int
	// failedPings counts consecutive failed health pings.
	failedPings int
}

// startProcess starts one plugin process and waits for its handshake, on a spawner
// thread (see spawn.go). A fresh ClientConfig and exec.Cmd each time: go-plugin
// clients cannot be restarted.
func startProcess(cfg Config, slot int, log hclog.Logger) (proc *process, err error) {
	onSpawnerThread(func() { proc, err = startProcessHere(cfg, slot, log) })
	if err != nil {
		return nil, err
	}
	if err := proc.describe(cfg.StartTimeout); err != nil {
		proc.terminate()
		return nil, err
	}
	return proc, nil
}

func startProcessHere(cfg Config, slot int, log hclog.Logger) (*process, error) {
	cmd := exec.Command(cfg.PythonPath, cfg.PluginScript)
	cmd.Env = append([]string(nil), cfg.Env...)
	withParentDeathSignal(cmd)
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pyplugin.Handshake,
		Plugins:          plugin.PluginSet{pyplugin.PluginName: pyplugin.GRPCPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     cfg.StartTimeout,
		// The plugin's environment is exactly cfg.Env: go-plugin would otherwise append
		// the host's, and a duplicate key would take the host's value.
		SkipHostEnv:     true,
		Managed:         false,
		Logger:          log.Named(fmt.Sprintf("plugin-%d", slot)),
		GRPCDialOptions: pyplugin.DialOptions(),
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
	return &process{
		socketDir: pluginSocketDir(pc),
		slot:      slot,
		pid:       cmd.Process.Pid,
		cmd:       cmd,
		started:   cfg.Now(),
		plugin:    pc,
		rpc:       rpc,
		breaker:   newCircuit(cfg.ProcessBreakerFailures, cfg.ProcessBreakerWindow, cfg.Now),
		maxAge:    jittered(cfg.MaxAge),
		running:   map[int64]time.Time{},
		state:     stateUnassigned,
	}, nil
}

// describe learns the enricher's own call limit from the process.
func (p *process) describe(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := p.rpc.Describe(ctx)
	if err != nil {
		return fmt.Errorf("pool: describe plugin %d: %w", p.slot, err)
	}
	p.callLimit = time.Duration(resp.GetCallLimitMs()) * time.Millisecond
	return nil
}

// maxAgeJitter is the largest share of MaxAge taken off one process's age limit.
const maxAgeJitter = 0.2

// jittered is d less a random share of up to maxAgeJitter of it (0 stays 0).
func jittered(d time.Duration) time.Duration {
	return d - time.Duration(rand.Float64()*maxAgeJitter*float64(d))
}

// killGrace bounds a graceful stop. go-plugin's Kill sends a Shutdown call without
// a deadline, so on a stopped (SIGSTOP) or wedged process it would wait forever.
const killGrace = 3 * time.Second

// kill stops the process gracefully (Shutdown, so in-process work ends cleanly),
// and with SIGKILL if it is not gone within killGrace. Safe to call more than once;
// returns once the process is gone.
func (p *process) kill() {
	done := make(chan struct{})
	go func() {
		p.plugin.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killGrace):
		p.terminate()
		<-done
	}
	p.removeSocketDir()
}

// terminate SIGKILLs the process, then lets go-plugin clean up. For processes that
// are dead, hung or sick: there is nothing to shut down gracefully.
func (p *process) terminate() {
	// Signal goes through exec.Cmd, which refuses once the process has been reaped,
	// so a recycled pid can never be hit.
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.plugin.Kill()
	p.removeSocketDir()
}

// socketDirPrefix is how plugin_server.py names its socket folder; only such a
// folder is ever removed.
const socketDirPrefix = "hh-enrich-plugin-"

// pluginSocketDir is the folder of the socket the plugin announced, or "".
func pluginSocketDir(pc *plugin.Client) string {
	rc := pc.ReattachConfig()
	if rc == nil || rc.Addr == nil || rc.Addr.Network() != "unix" {
		return ""
	}
	dir := filepath.Dir(rc.Addr.String())
	if !strings.HasPrefix(filepath.Base(dir), socketDirPrefix) {
		return ""
	}
	return dir
}

// removeSocketDir deletes the socket folder once the process is gone (a no-op when
// the plugin already removed it on a clean exit).
func (p *process) removeSocketDir() {
	if p.socketDir != "" {
		_ = os.RemoveAll(p.socketDir)
	}
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.rpc.Exited():
		return true
	default:
		return false
	}
}

// ping asks the process's health service, within timeout.
func (p *process) ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return p.rpc.Ping(ctx)
}

// residentBytes reads the process's resident set size from /proc. It reports 0
// where /proc is missing: memory recycling then never triggers.
func residentBytes(pid int) int64 {
	statm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// ProcessInfo describes one plugin process, for the admin API and tests.
type ProcessInfo struct {
	ID         int       `json:"id"` // the slot; RestartProcess takes it
	PID        int       `json:"pid"`
	State      string    `json:"state"`
	InFlight   int       `json:"inFlight"`
	JobsServed int64     `json:"jobsServed"`
	Failures   int64     `json:"failures"`
	RSSBytes   int64     `json:"rssBytes"`
	StartedAt  time.Time `json:"startedAt"`
	Breaker    string    `json:"breaker"`
	LastError  string    `json:"lastError,omitempty"`
	// OldestCallMs is how long the oldest call in flight has run: a call nearing
	// the enricher's own limit is probably spinning.
	OldestCallMs int64 `json:"oldestCallMs"`
}
