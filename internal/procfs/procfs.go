// Package procfs reads a process's figures from Linux's /proc: the one
// reader of resident memory and status fields for the generator's own
// monitor, the observed server process and serve's worker stats. Off
// Linux (no /proc) every read reports false.
package procfs

import (
	"bytes"
	"os"
	"strconv"
)

// Status reads /proc/PID/status (pid 0: this process).
func Status(pid int) ([]byte, error) {
	p := "/proc/self/status"
	if pid != 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	return os.ReadFile(p)
}

// Field is the first number of the status line that starts with name
// (e.g. "VmRSS:", "Threads:"), as written (kB for memory lines).
func Field(status []byte, name string) (int64, bool) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(name)); ok {
			f := bytes.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			n, err := strconv.ParseInt(string(f[0]), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// MemoryBytes is a kB memory line of /proc/PID/status (pid 0: this
// process), in bytes: "VmRSS:" now, "VmHWM:" at its peak.
func MemoryBytes(pid int, name string) (int64, bool) {
	b, err := Status(pid)
	if err != nil {
		return 0, false
	}
	kb, ok := Field(b, name)
	return kb * 1024, ok
}
