package procfs

import (
	"os"
	"runtime"
	"testing"
)

func TestField(t *testing.T) {
	b := []byte("Name:\tssebench\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t7\nEmpty:\n")
	for _, c := range []struct {
		name string
		want int64
		ok   bool
	}{{"VmHWM:", 2048, true}, {"VmRSS:", 1024, true}, {"Threads:", 7, true}, {"Empty:", 0, false}, {"Missing:", 0, false}, {"Name:", 0, false}} {
		if got, ok := Field(b, c.name); got != c.want || ok != c.ok {
			t.Errorf("Field(%q) = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// TestMemoryBytesSeesAnAllocation: this process's resident set grows by
// about what it touches, and its peak is at least its current size.
func TestMemoryBytesSeesAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc")
	}
	before, ok := MemoryBytes(0, "VmRSS:")
	if !ok || before <= 0 {
		t.Fatalf("VmRSS = %d, %v", before, ok)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	after, _ := MemoryBytes(0, "VmRSS:")
	if after-before < 48<<20 {
		t.Errorf("VmRSS grew %d bytes after touching 64 MiB", after-before)
	}
	if peak, _ := MemoryBytes(os.Getpid(), "VmHWM:"); peak < after {
		t.Errorf("VmHWM %d below VmRSS %d", peak, after)
	}
	runtime.KeepAlive(buf)
}
