package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// clusterMasters is how many masters a test cluster has: the fewest
	// redis-cli --cluster create accepts.
	clusterMasters = 3
	// clusterCreateTimeout bounds redis-cli --cluster create, which waits
	// (in whole seconds) for the nodes to agree on the configuration.
	clusterCreateTimeout = 30 * time.Second
	// clusterReadyTimeout bounds the wait for cluster_state:ok on every node.
	clusterReadyTimeout = 15 * time.Second
)

// Cluster is a Redis Cluster of three masters with no replicas, each
// redis-server on a loopback port (and its cluster bus on another).
type Cluster struct {
	cfg   ClusterConfig
	addrs []string
	nodes []*process
	args  [][]string // each node's command line, to restart it
	dir   string
}

// ClusterConfig configures a Cluster.
type ClusterConfig struct {
	// AppendOnly gives every node an append-only file with an fsync after
	// every write, so that a node Restart brings back all it acknowledged.
	// Without it a restarted node keeps its slots but comes back empty.
	AppendOnly bool
}

// StartCluster starts a Cluster, waits until every node reports
// cluster_state:ok, and returns the masters' addresses for
// redis.NewClusterClient. The nodes are killed when tb ends. With
// TEST_REDIS_CLUSTER set it starts nothing and returns those addresses. It
// fails tb if redis-server or redis-cli is missing or the cluster does not
// form.
func StartCluster(tb testing.TB) []string {
	tb.Helper()
	if env := os.Getenv("TEST_REDIS_CLUSTER"); env != "" {
		return strings.Split(env, ",")
	}
	c, err := NewCluster()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c.Addrs()
}

// StartClusterWith starts a Cluster configured by cfg and returns it, for a
// test that restarts nodes; the nodes are killed when tb ends. It ignores
// TEST_REDIS_CLUSTER: the test must own the nodes.
func StartClusterWith(tb testing.TB, cfg ClusterConfig) *Cluster {
	tb.Helper()
	c, err := NewClusterWith(cfg)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// NewCluster starts a Cluster without a test, e.g. in a TestMain that shares
// it; the caller must Close it. It returns an error if redis-server or
// redis-cli is missing or the cluster does not form in time.
func NewCluster() (*Cluster, error) { return NewClusterWith(ClusterConfig{}) }

// NewClusterWith starts a Cluster configured by cfg, like NewCluster.
func NewClusterWith(cfg ClusterConfig) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "redistest-cluster")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	c := &Cluster{cfg: cfg, dir: dir}
	if err := c.form(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redistest: cluster: %w", err)
	}
	return c, nil
}

// Addrs returns the masters' addresses, "127.0.0.1:PORT".
func (c *Cluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Close kills every node and removes their data. It is safe to call more
// than once.
func (c *Cluster) Close() {
	for _, p := range c.nodes {
		p.kill()
	}
	_ = os.RemoveAll(c.dir)
}

// Restart kills the node at addr (SIGKILL, as a crash would), starts it again
// on the same ports and folder, and waits until every node reports
// cluster_state:ok. The node keeps its slots (nodes.conf) and, with
// AppendOnly, its data.
func (c *Cluster) Restart(addr string) error {
	i := slices.Index(c.addrs, addr)
	if i < 0 {
		return fmt.Errorf("redistest: %s is not a node of this cluster", addr)
	}
	c.nodes[i].kill()
	p, err := launch(&redis.Options{Addr: addr}, c.args[i]...)
	if err != nil {
		return fmt.Errorf("redistest: restarting %s: %w", addr, err)
	}
	c.nodes[i] = p
	for _, a := range c.addrs {
		if err := waitClusterOK(a); err != nil {
			return fmt.Errorf("redistest: after restarting %s: %w", addr, err)
		}
	}
	return nil
}

// form starts the nodes, joins them and waits until the cluster serves.
func (c *Cluster) form() error {
	for i := range clusterMasters {
		if err := c.startNode(filepath.Join(c.dir, strconv.Itoa(i))); err != nil {
			return err
		}
	}
	if err := createCluster(c.addrs); err != nil {
		return err
	}
	for _, addr := range c.addrs {
		if err := waitClusterOK(addr); err != nil {
			return err
		}
	}
	return nil
}

// startNode starts one cluster-enabled redis-server, retrying when another
// process takes a probed port before the server binds it.
func (c *Cluster) startNode(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var lastErr error
	for range tcpAttempts {
		addr, busPort, err := freePortPair()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		args := []string{"--port", port, "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-port", busPort,
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}
		if c.cfg.AppendOnly {
			args = append(args, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir)
		} else {
			args = append(args, inMemory(dir)...)
		}
		p, err := launch(&redis.Options{Addr: addr}, args...)
		if err == nil {
			c.addrs, c.nodes, c.args = append(c.addrs, addr), append(c.nodes, p), append(c.args, args)
			return nil
		}
		lastErr = err
		if errors.Is(err, exec.ErrNotFound) {
			break
		}
	}
	return lastErr
}

// freePortPair returns a free loopback address for clients and a second free
// port for the cluster bus. Both listeners are open at once, so they differ.
func freePortPair() (addr, busPort string, err error) {
	client, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("finding a free port: %w", err)
	}
	defer client.Close()
	bus, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("finding a free port: %w", err)
	}
	defer bus.Close()
	_, busPort, _ = net.SplitHostPort(bus.Addr().String())
	return client.Addr().String(), busPort, nil
}

// createCluster assigns the slots evenly and joins the nodes, the way an
// operator would.
func createCluster(addrs []string) error {
	path, err := exec.LookPath("redis-cli")
	if err != nil {
		return fmt.Errorf("redis-cli is needed for a cluster test but is not on PATH "+
			"(it comes with apt-get install -y redis-server): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, path, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli %s: %w; its output:\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// waitClusterOK polls CLUSTER INFO on addr until the node serves every slot
// and knows every master.
func waitClusterOK(addr string) error {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(clusterMasters)}
	return poll(clusterReadyTimeout, "cluster_state:ok on "+addr, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := client.ClusterInfo(ctx).Result()
		if err == nil && !containsAll(info, want) {
			err = fmt.Errorf("CLUSTER INFO %q lacks one of %v", info, want)
		}
		return err
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
