package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// ProcMemory is one process's resident memory, in MiB.
type ProcMemory struct {
	Pid int `json:"pid"`
	// RSSMB is VmRSS when read; PeakRSSMB is VmHWM, the most it ever held.
	RSSMB     float64 `json:"rssMB"`
	PeakRSSMB float64 `json:"peakRssMB"`
}

// StackMemory is the resident memory of the service and of each of its plugins.
type StackMemory struct {
	Service *ProcMemory  `json:"service,omitempty"`
	Plugins []ProcMemory `json:"plugins,omitempty"`
	Redis   *ProcMemory  `json:"redis,omitempty"`
}

// readProcMemory reads VmRSS and VmHWM from procRoot/<pid>/status.
func readProcMemory(procRoot string, pid int) (ProcMemory, error) {
	raw, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return ProcMemory{}, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	m := ProcMemory{Pid: pid}
	for _, line := range strings.Split(string(raw), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSSMB = kbFieldMB(value)
		case "VmHWM":
			m.PeakRSSMB = kbFieldMB(value)
		}
	}
	return m, nil
}

// kbFieldMB turns "   12345 kB" into MiB rounded to 0.1.
func kbFieldMB(v string) float64 {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return 0
	}
	kb, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0
	}
	return float64(int(kb/1024*10+0.5)) / 10
}

// measureStack reads the memory of the service (pid), its plugins and Redis; a pid
// of 0 is skipped.
func measureStack(procRoot string, servicePid, redisPid int) StackMemory {
	var sm StackMemory
	if servicePid > 0 {
		if m, err := readProcMemory(procRoot, servicePid); err == nil {
			sm.Service = &m
		}
		for _, pid := range localstack.ChildPIDs(procRoot, servicePid, localstack.PluginMarker) {
			if m, err := readProcMemory(procRoot, pid); err == nil {
				sm.Plugins = append(sm.Plugins, m)
			}
		}
	}
	if redisPid > 0 {
		if m, err := readProcMemory(procRoot, redisPid); err == nil {
			sm.Redis = &m
		}
	}
	return sm
}

// maxPluginPeak is the largest plugin VmHWM, 0 without plugins.
func (sm StackMemory) maxPluginPeak() float64 {
	var peak float64
	for _, p := range sm.Plugins {
		peak = max(peak, p.PeakRSSMB)
	}
	return peak
}

// loadAverage returns /proc/loadavg's first three fields, or "" when unreadable.
func loadAverage(procRoot string) string {
	raw, err := os.ReadFile(filepath.Join(procRoot, "loadavg"))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// readCPUSeconds is the user + system CPU time pid has used, from
// procRoot/<pid>/stat ("self" for this process).
func readCPUSeconds(procRoot, pid string) (float64, error) {
	stat, err := os.ReadFile(filepath.Join(procRoot, pid, "stat"))
	if err != nil {
		return 0, fmt.Errorf("cpu of %s: %w", pid, err)
	}
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("cpu of %s: unreadable stat", pid)
	}
	// After ")": state(0) ppid(1) … utime(11) stime(12).
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("cpu of %s: short stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu of %s: unreadable utime/stime", pid)
	}
	return (utime + stime) / clockTicks, nil
}

// CPUUse is the CPU seconds each part of the stack used, by role: service,
// plugins (all of them), redis, harness (this process).
type CPUUse map[string]float64

// measureCPU reads the CPU time used so far by each part; a pid of 0 is skipped.
func measureCPU(procRoot string, servicePid, redisPid int) CPUUse {
	use := CPUUse{}
	add := func(role, pid string) {
		if s, err := readCPUSeconds(procRoot, pid); err == nil {
			use[role] += s
		}
	}
	add("harness", "self")
	if servicePid > 0 {
		add("service", strconv.Itoa(servicePid))
		for _, pid := range localstack.ChildPIDs(procRoot, servicePid, localstack.PluginMarker) {
			add("plugins", strconv.Itoa(pid))
		}
	}
	if redisPid > 0 {
		add("redis", strconv.Itoa(redisPid))
	}
	return use
}

// since is the CPU used between before and u, rounded to 0.01 s.
func (u CPUUse) since(before CPUUse) CPUUse {
	out := CPUUse{}
	for role, s := range u {
		out[role] = round2(s - before[role])
	}
	return out
}
