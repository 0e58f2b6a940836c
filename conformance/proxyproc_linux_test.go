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
// HAProxy's hard stop and Apache's stop (SIGTERM), Caddy's quit (SIGQUIT;
// its SIGTERM waits for open connections).
func stopProcess(kind string, p *os.Process) error {
	if kind == proxies.Caddy {
		return p.Signal(syscall.SIGQUIT)
	}
	return p.Signal(syscall.SIGTERM)
}

// killGroup kills the master and its workers: a killed master does not
// take its workers down with it.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
