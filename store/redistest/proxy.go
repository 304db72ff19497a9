package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what a Proxy does to one command on its way to Redis.
type Fault int

// The faults a Proxy can inject. They are what a client sees when a network,
// a failover or a stalled server gets between it and Redis; the first and the
// third are the ones that make a client's retry a replay, since Redis has
// already run the command.
const (
	// Pass forwards the command and its reply.
	Pass Fault = iota
	// DropReply forwards the command, lets Redis run it, throws the reply
	// away and resets the client's connection: the client reads EOF.
	DropReply
	// ResetMidCommand forwards half of the command's bytes and resets both
	// connections: Redis never runs it, and the client reads EOF.
	ResetMidCommand
	// DelayReply forwards the command, lets Redis run it and holds the
	// reply back for the Proxy's delay, past the client's read timeout.
	DelayReply
	faultKinds
)

func (f Fault) String() string {
	return [...]string{"pass", "drop-reply", "reset-mid-command", "delay-reply"}[f]
}

// Command is one command a client sent through a Proxy.
type Command struct {
	Name string   // upper case, e.g. "EVALSHA"
	Args []string // the arguments after the name
}

// Rule decides the fault for each command. A Proxy calls it under a lock, one
// command at a time, so a rule may keep state without its own lock.
type Rule func(Command) Fault

// Once gives fault to the first command match accepts and passes the rest.
func Once(match func(Command) bool, fault Fault) Rule {
	done := false
	return func(c Command) Fault {
		if done || !match(c) {
			return Pass
		}
		done = true
		return fault
	}
}

// Proxy is a TCP proxy between Redis clients and one redis-server that
// understands RESP well enough to break single commands: it reads one
// command from the client, applies its Rule, forwards it and relays one
// reply, and so on. A pub/sub connection is relayed verbatim once it
// subscribes. Every connection has its own upstream connection, so a fault
// on one does not disturb another client's commands.
type Proxy struct {
	listener net.Listener
	upstream string

	mu     sync.Mutex
	rule   Rule
	delay  time.Duration
	counts [faultKinds]int
	conns  map[net.Conn]struct{}
	closed chan struct{}

	wg sync.WaitGroup
}

// StartProxy starts a Proxy on a free loopback port in front of upstream
// ("host:port"), passing everything until SetRule. It is closed when tb ends.
func StartProxy(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	p, err := NewProxy(upstream)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// NewProxy starts a Proxy without a test; the caller must Close it.
func NewProxy(upstream string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &Proxy{
		listener: l, upstream: upstream, rule: func(Command) Fault { return Pass },
		delay: time.Second, conns: map[net.Conn]struct{}{}, closed: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients dial, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

// SetRule replaces the rule; nil passes everything.
func (p *Proxy) SetRule(r Rule) {
	if r == nil {
		r = func(Command) Fault { return Pass }
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = r
}

// SetDelay sets how long DelayReply holds a reply back (1 s by default).
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Injected returns how many commands got fault so far.
func (p *Proxy) Injected(fault Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[fault]
}

// Close stops accepting, resets every connection and waits for the relays to
// end. It is safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
	default:
		close(p.closed)
		_ = p.listener.Close()
		for c := range p.conns {
			_ = c.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(client)
		}()
	}
}

// track registers c so Close can reset it; it returns false once closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		return false
	default:
		p.conns[c] = struct{}{}
		return true
	}
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	_ = c.Close()
}

// decide applies the rule to c and counts the fault.
func (p *Proxy) decide(c Command) (Fault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.rule(c)
	p.counts[f]++
	return f, p.delay
}

// relay serves one client connection until either side closes or a fault
// resets it.
func (p *Proxy) relay(client net.Conn) {
	if !p.track(client) {
		_ = client.Close()
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	if !p.track(server) {
		_ = server.Close()
		return
	}
	defer p.untrack(server)
	fromClient, fromServer := bufio.NewReader(client), bufio.NewReader(server)
	for {
		raw, args, err := readRESP(fromClient, true)
		if err != nil || len(args) == 0 {
			return
		}
		cmd := Command{Name: strings.ToUpper(args[0]), Args: args[1:]}
		if strings.HasSuffix(cmd.Name, "SUBSCRIBE") || cmd.Name == "MONITOR" {
			p.pipe(client, server, fromClient, fromServer, raw)
			return
		}
		if !p.exchange(client, server, fromServer, cmd, raw) {
			return
		}
	}
}

// exchange forwards one command and relays its reply as the rule says. It
// returns false when the connection must end.
func (p *Proxy) exchange(client, server net.Conn, fromServer *bufio.Reader, cmd Command, raw []byte) bool {
	fault, delay := p.decide(cmd)
	if fault == ResetMidCommand {
		_, _ = server.Write(raw[:len(raw)/2])
		return false
	}
	if _, err := server.Write(raw); err != nil {
		return false
	}
	reply, err := readReply(fromServer)
	if err != nil {
		return false
	}
	switch fault {
	case DropReply:
		return false
	case DelayReply:
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.closed:
			return false
		}
	}
	_, err = client.Write(reply)
	return err == nil
}

// readReply reads one reply, relaying with it any RESP3 push messages that
// came first.
func readReply(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		raw, _, err := readRESP(r, false)
		if err != nil {
			return nil, err
		}
		out = append(out, raw...)
		if raw[0] != '>' {
			return out, nil
		}
	}
}

// pipe relays a subscribed connection verbatim, both ways, until one closes.
func (p *Proxy) pipe(client, server net.Conn, fromClient, fromServer *bufio.Reader, first []byte) {
	if _, err := server.Write(first); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, fromClient)
		_ = server.Close()
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, fromServer)
		_ = client.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
}

// readRESP reads one RESP2 or RESP3 value and returns its bytes as sent and,
// when top is true and it is an array of bulk strings (a command), those
// strings.
func readRESP(r *bufio.Reader, top bool) (raw []byte, args []string, err error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, nil, errors.New("proxy: malformed RESP line")
	}
	raw = line
	body := string(line[1 : len(line)-2])
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return raw, nil, nil
	case '$', '!', '=':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return raw, nil, err
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, nil, err
		}
		return append(raw, data...), []string{string(data[:n])}, nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return raw, nil, err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for range n {
			elem, strs, err := readRESP(r, false)
			if err != nil {
				return nil, nil, err
			}
			raw = append(raw, elem...)
			if top && elem[0] == '$' && len(strs) == 1 {
				args = append(args, strs[0])
			}
		}
		return raw, args, nil
	}
	return nil, nil, fmt.Errorf("proxy: unknown RESP type %q", line[0])
}
