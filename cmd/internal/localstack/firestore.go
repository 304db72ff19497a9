package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// firestoreReadyTimeout bounds a start until the emulator answers; it takes
	// 2–5 s alone, more on a loaded 2-core machine.
	firestoreReadyTimeout = 90 * time.Second
	// firestorePoll is how often a starting emulator is asked whether it serves.
	firestorePoll = 100 * time.Millisecond
	// firestorePingTimeout bounds one readiness probe, so a probe sent before the
	// port is served does not hold up the next.
	firestorePingTimeout = 5 * time.Second
	// firestoreCallTimeout bounds one document call: generous, because the first
	// write to a just-started emulator (a cold JVM) takes seconds on a loaded
	// machine, and a test must fail on a hung emulator, not on a slow one.
	firestoreCallTimeout = 60 * time.Second
	// firestoreAttempts bounds the retries when another process takes the free
	// port between our probe and the emulator's bind.
	firestoreAttempts = 3
)

// FirestoreEmulator is the Firestore emulator (`gcloud emulators firestore
// start`, DESIGN §5) on a loopback port that a harness can kill, as an outage
// would, and start again on the same port. It keeps documents in memory only: a
// restarted emulator is empty.
type FirestoreEmulator struct {
	// Host is host:port, the value for FIRESTORE_EMULATOR_HOST; it stays the same
	// across Kill and Restart.
	Host   string
	gcloud string
	http   *http.Client

	mu     sync.Mutex
	cmd    *exec.Cmd // nil while killed
	exited chan struct{}
	out    *syncBuffer
}

// StartFirestoreEmulator starts the emulator on a free loopback port and returns
// once it answers. It fails when gcloud (with the cloud-firestore-emulator
// component) is missing or the emulator does not answer within 90 s.
func StartFirestoreEmulator(ctx context.Context) (*FirestoreEmulator, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, fmt.Errorf("gcloud with the cloud-firestore-emulator component is needed: %w", err)
	}
	var lastErr error
	for range firestoreAttempts {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		e := &FirestoreEmulator{Host: net.JoinHostPort("127.0.0.1", port), gcloud: gcloud,
			http: &http.Client{Timeout: firestoreCallTimeout}}
		if lastErr = e.Restart(ctx); lastErr == nil {
			return e, nil
		}
	}
	return nil, lastErr
}

// Restart starts a killed emulator again on the same port and waits until it
// answers. On a running emulator it does nothing.
func (e *FirestoreEmulator) Restart(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return nil
	}
	cmd := exec.Command(e.gcloud, "emulators", "firestore", "start", "--host-port="+e.Host, "--quiet")
	// Its own process group, so Kill stops java along with gcloud's wrapper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the Firestore emulator: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = cmd.Wait() // a killed emulator exits with an error; that is expected
	}()
	e.cmd, e.exited, e.out = cmd, exited, out
	if err := e.waitReady(ctx, exited); err != nil {
		e.killLocked()
		return fmt.Errorf("firestore emulator on %s: %w; its output:\n%s", e.Host, err, out.String())
	}
	return nil
}

// waitReady polls the emulator's root, which answers 200 "Ok" once it serves.
func (e *FirestoreEmulator) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, firestoreReadyTimeout)
	defer cancel()
	ticker := time.NewTicker(firestorePoll)
	defer ticker.Stop()
	for {
		err := e.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("no answer: %w (last: %w)", ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

func (e *FirestoreEmulator) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, firestorePingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.Host+"/", nil)
	if err != nil {
		return err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "Ok" {
		return fmt.Errorf("answered %s %q", resp.Status, body)
	}
	return nil
}

// Kill stops the emulator at once, its whole process group (gcloud runs a script
// that runs java; killing gcloud alone leaves java listening), and waits for it.
// Clients get connection errors until Restart. Killing a killed emulator does
// nothing.
func (e *FirestoreEmulator) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.killLocked()
}

func (e *FirestoreEmulator) killLocked() {
	if e.cmd == nil {
		return
	}
	// Setpgid made the group id equal gcloud's pid; a negative pid signals the group.
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	<-e.exited
	e.cmd = nil
}

// Close stops the emulator for good. Safe to call more than once.
func (e *FirestoreEmulator) Close() { e.Kill() }
