// Package firestoretest runs the real Firestore emulator for tests
// (`gcloud emulators firestore start`, DESIGN §5).
//
// The emulator takes 2–5 s to start, so a package starts one per test binary
// (NewEmulator in TestMain, or Start in a single test) and isolates its tests by
// project id or document id rather than by restarting it. Reset wipes one
// project's documents.
//
// When TEST_FIRESTORE_EMULATOR_HOST is set (host:port of a running emulator),
// nothing is started and that emulator is used instead.
package firestoretest

import (
	"context"
	"errors"
	"fmt"
	"go.uber.org/goleak"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long a new emulator may take to answer; it
	// usually answers within 2–5 s, more on a loaded 2-core machine.
	readyTimeout = 60 * time.Second
	// pollInterval is how often a starting emulator is asked whether it is up.
	pollInterval = 100 * time.Millisecond
	// startAttempts bounds the retries when another process takes the free
	// port between our probe and the emulator's bind.
	startAttempts = 3
	// requestTimeout bounds one HTTP request to the emulator's admin endpoints.
	requestTimeout = 5 * time.Second
)

// Emulator is one running Firestore emulator. Its zero value is not usable:
// make one with NewEmulator.
type Emulator struct {
	host   string
	cmd    *exec.Cmd // nil when the emulator came from TEST_FIRESTORE_EMULATOR_HOST
	exited chan struct{}
	output *syncBuffer
	once   sync.Once
}

// NewEmulator starts an emulator on a free loopback port and waits until it
// answers. The caller must Close it; TestMain is the usual owner. It fails
// when gcloud is not on PATH, lacks the cloud-firestore-emulator component, or
// the emulator does not answer within a minute.
func NewEmulator() (*Emulator, error) {
	if host := os.Getenv("TEST_FIRESTORE_EMULATOR_HOST"); host != "" {
		return &Emulator{host: host}, nil
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, fmt.Errorf("firestoretest: gcloud with the cloud-firestore-emulator component "+
			"is needed (or set TEST_FIRESTORE_EMULATOR_HOST): %w", err)
	}
	var lastErr error
	for range startAttempts {
		host, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		e, err := launch(gcloud, host)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// Start starts an emulator for tb and returns its host:port, the value for
// FIRESTORE_EMULATOR_HOST. The emulator is stopped when tb ends; it fails tb
// like NewEmulator.
func Start(tb testing.TB) string {
	tb.Helper()
	e, err := NewEmulator()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e.Host()
}

// Host is the emulator's host:port, the value for FIRESTORE_EMULATOR_HOST.
func (e *Emulator) Host() string { return e.host }

// Close stops the emulator and waits for it to exit. It kills the whole
// process group: gcloud runs a shell script that runs java, and killing gcloud
// alone leaves java listening. It is safe to call more than once.
func (e *Emulator) Close() {
	if e.cmd == nil {
		return
	}
	e.once.Do(func() {
		// Setpgid made the group id equal gcloud's pid; a negative pid signals
		// the group. It fails only if the group is already gone.
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
	})
}

// Reset deletes every document of project on the emulator at host. It fails
// tb when the emulator does not answer 200.
func Reset(tb testing.TB, host, project string) {
	tb.Helper()
	url := "http://" + host + "/emulator/v1/projects/" + project + "/databases/(default)/documents"
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err != nil {
		tb.Fatalf("firestoretest: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("firestoretest: resetting %s: %v", project, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		tb.Fatalf("firestoretest: resetting %s: %s: %s", project, resp.Status, body)
	}
}

// launch runs the emulator on host and waits until it answers. On error it is
// already gone.
func launch(gcloud, host string) (*Emulator, error) {
	cmd := exec.Command(gcloud, "emulators", "firestore", "start", "--host-port="+host, "--quiet")
	// Its own process group, so Close can kill java along with gcloud.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	output := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("firestoretest: starting the emulator: %w", err)
	}
	e := &Emulator{host: host, cmd: cmd, exited: make(chan struct{}), output: output}
	go func() {
		defer close(e.exited)
		_ = cmd.Wait() // a killed emulator exits with an error; that is expected
	}()
	if err := waitReady(host, e.exited); err != nil {
		e.Close()
		return nil, fmt.Errorf("firestoretest: emulator on %s: %w; its output:\n%s", host, err, output.String())
	}
	return e, nil
}

// waitReady polls the emulator's root, which answers 200 "Ok" once it serves,
// until it does, the emulator exits or readyTimeout passes.
func waitReady(host string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ping(client, host)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %w", readyTimeout, err)
		}
		time.Sleep(pollInterval)
	}
}

func ping(client *http.Client, host string) error {
	resp, err := client.Get("http://" + host + "/")
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

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("firestoretest: finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("firestoretest: finding a free port: %w", err)
	}
	return addr, nil
}

// syncBuffer collects the emulator's output, written by exec's copying goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RunWithEmulator is a TestMain body for packages whose tests share one emulator:
// it starts it, points FIRESTORE_EMULATOR_HOST at it before any test (the client
// library reads the variable when a client is made), runs the tests, stops it, and
// then checks with goleak (ignoring what leakOpts say) that no goroutine outlived
// them. It returns the exit code and the emulator's host.
func RunWithEmulator(m *testing.M, host *string, leakOpts ...goleak.Option) int {
	emulator, err := NewEmulator()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*host = emulator.Host()
	if err := os.Setenv("FIRESTORE_EMULATOR_HOST", *host); err != nil {
		fmt.Fprintln(os.Stderr, err)
		emulator.Close()
		return 1
	}
	code := m.Run()
	emulator.Close()
	if code == 0 {
		if err := goleak.Find(leakOpts...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}
