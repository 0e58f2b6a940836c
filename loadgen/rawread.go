package loadgen

import (
	"io"
	"net"
	"syscall"
)

// rawReader reads a plain TCP socket on the calling goroutine, skipping the
// read that Go's poller would make only to learn the socket is empty: after
// a short read the socket was drained, so it waits for readiness first.
// The poller is edge-triggered and remembers readiness that arrives while
// nobody waits, so no wakeup is lost; at worst a stale readiness costs the
// one empty read this saves. Deadlines and Close work as on the net.Conn.
// An idle SSE stream then costs one read per event instead of two.
type rawReader struct {
	rc      syscall.RawConn
	drained bool
}

func newRawReader(nc net.Conn) io.Reader {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &rawReader{rc: rc}
}

func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	skip := r.drained
	err := r.rc.Read(func(fd uintptr) bool {
		if skip {
			skip = false
			return false // wait for readiness before reading
		}
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				break
			}
		}
		return rerr != syscall.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n <= 0 {
		return 0, io.EOF
	}
	r.drained = n < len(p)
	return n, nil
}
