package conformance

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/ssebench/ssebench/fixtures/proxies"
)

// setProcAttr puts the proxy in its own process group, so a lingering
// master and its workers can be killed together, and asks the kernel to
// send it SIGTERM if the test process dies without closing it (a test
// timeout panics past every Cleanup), so no stray proxy outlives the run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// stopProcess sends each kind's immediate stop: nginx's fast shutdown
// (SIGTERM; SIGQUIT would wait for open streams, which never end),
// HAProxy's hard stop (SIGTERM), Caddy's quit (SIGQUIT; its SIGTERM waits
// for open connections). Apache in one-process mode (-X) stops only once
// its worker threads return, and a thread proxying a silent stream waits
// for the origin for as long as the proxy timeout (an hour in correct.conf):
// it gets SIGKILL, which leaves nothing behind (-X starts no children; its
// pid and mutex files are in its own directory).
func stopProcess(kind string, p *os.Process) error {
	switch kind {
	case proxies.Caddy:
		return p.Signal(syscall.SIGQUIT)
	case proxies.Apache:
		return p.Signal(syscall.SIGKILL)
	}
	return p.Signal(syscall.SIGTERM)
}

// killGroup kills the master and its workers: a killed master does not
// take its workers down with it.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
