package localstack

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// command sends one inline command over RESP and returns the reply line.
func command(t *testing.T, addr, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(conn, "%s\r\n", cmd)
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, _ = r.ReadString('\n')
	}
	return strings.TrimSpace(line)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	t.Run("KeepsAcknowledgedWritesAcrossKillAndRestartWithAppendOnly", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		r, err := StartRedis(ctx, RedisConfig{AppendOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		addr := r.Addr
		if got := command(t, addr, "SET k v"); got != "+OK" {
			t.Fatalf("SET: %s", got)
		}
		r.Kill()
		if r.Pid() != 0 {
			t.Error("a killed server still has a pid")
		}
		if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			t.Fatal("a killed server accepted a connection")
		}
		if err := r.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if r.Addr != addr {
			t.Errorf("address moved from %s to %s", addr, r.Addr)
		}
		if got := command(t, addr, "GET k"); got != "v" {
			t.Errorf("GET after the restart = %q, want v", got)
		}
	})
}
