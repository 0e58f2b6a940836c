//go:build !linux

package conformance

import (
	"os"
	"os/exec"
)

// setProcAttr is a no-op here: the proxy tests run on Linux (see test.sh);
// elsewhere the runner still works but cannot guard against strays.
func setProcAttr(*exec.Cmd) {}

func stopProcess(_ string, p *os.Process) error { return p.Kill() }

func killGroup(p *os.Process) { _ = p.Kill() }
