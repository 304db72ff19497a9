package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// parseTCPListeners reads /proc/<pid>/net/tcp or tcp6 ("sl local_address
// rem_address st ... inode") into a map of inode to the address listened on.
func parseTCPListeners(r io.Reader) map[string]string {
	out := map[string]string{}
	scanner := bufio.NewScanner(r)
	scanner.Scan() // the header
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		if addr, ok := decodeProcAddr(fields[1]); ok {
			out[fields[9]] = addr
		}
	}
	return out
}

// decodeProcAddr turns "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6) into "127.0.0.1:8080". The address is stored as 32-bit words in host
// byte order (little-endian here), the port big-endian.
func decodeProcAddr(s string) (string, bool) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexIP)
	port, perr := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10)), true
}

// isLoopbackListener reports whether a listen address accepts loopback only.
func isLoopbackListener(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// groupListeners lists the TCP addresses the processes of process group pgid
// listen on.
func groupListeners(procRoot string, pgid int) []string {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var addrs []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || processGroup(procRoot, pid) != pgid {
			continue
		}
		addrs = append(addrs, processListeners(procRoot, pid)...)
	}
	return addrs
}

// processGroup reads a process's group id from procRoot/<pid>/stat (0 when unknown).
func processGroup(procRoot string, pid int) int {
	stat, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	end := bytes.LastIndexByte(stat, ')')
	if err != nil || end < 0 {
		return 0
	}
	// After ")": state ppid pgrp ...
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 3 {
		return 0
	}
	pgrp, _ := strconv.Atoi(fields[2])
	return pgrp
}

// processListeners lists the TCP addresses pid listens on: its socket inodes
// found among the listening sockets of its network namespace.
func processListeners(procRoot string, pid int) []string {
	base := filepath.Join(procRoot, strconv.Itoa(pid))
	entries, err := os.ReadDir(filepath.Join(base, "fd"))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(base, "fd", e.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && err == nil {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(base, "net", table))
		if err != nil {
			continue
		}
		for inode, addr := range parseTCPListeners(f) {
			if inodes[inode] {
				addrs = append(addrs, addr)
			}
		}
		f.Close()
	}
	return addrs
}
