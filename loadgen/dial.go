package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// portsPerSource is how many connections one source address may open to
// one destination before the ephemeral range runs out, with some margin
// for other sockets (32768–60999 gives 28,232).
const portsPerSource = 25000

// dialers builds one dialer per source address (or one unbound dialer).
// Sockets bind with IP_BIND_ADDRESS_NO_PORT, so the kernel picks the port
// at connect time per 4-tuple and each source address gets the whole
// ephemeral range toward each destination.
func dialers(pool []netip.Addr, timeout time.Duration) ([]*net.Dialer, error) {
	if len(pool) == 0 {
		return []*net.Dialer{{Timeout: timeout, KeepAlive: -1}}, nil
	}
	out := make([]*net.Dialer, 0, len(pool))
	for _, a := range pool {
		if err := canBind(a); err != nil {
			return nil, err
		}
		out = append(out, &net.Dialer{
			Timeout:   timeout,
			KeepAlive: -1,
			LocalAddr: &net.TCPAddr{IP: a.AsSlice()},
			Control:   bindNoPort,
		})
	}
	return out, nil
}

// canBind checks that a source address exists on this machine.
func canBind(a netip.Addr) error {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: a.AsSlice()})
	if err != nil {
		return fmt.Errorf("source address %s cannot be bound (is it configured on this machine?): %w", a, err)
	}
	return ln.Close()
}

func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = setBindNoPort(fd) })
	if err != nil {
		return err
	}
	return serr
}

// autoPool chooses loopback source addresses when the planned connections
// to one loopback target would exceed one address's ephemeral ports.
// It returns nil when no pool is needed or the targets are not loopback.
func autoPool(s *scenarios.Scenario) []netip.Addr {
	perTarget := (s.MaxTarget() + len(s.URLs) - 1) / max(1, len(s.URLs))
	if s.HTTP2 {
		perTarget = (perTarget + s.StreamsPerConn - 1) / max(1, s.StreamsPerConn)
	}
	if perTarget <= portsPerSource {
		return nil
	}
	for _, raw := range s.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil
		}
		ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", u.Hostname())
		if err != nil || len(ips) == 0 || !ips[0].Unmap().Is4() || !ips[0].IsLoopback() {
			return nil
		}
	}
	n := (perTarget + portsPerSource - 1) / portsPerSource
	pool := make([]netip.Addr, 0, n)
	for a, i := netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0; i < n; a, i = a.Next(), i+1 {
		pool = append(pool, a)
	}
	return pool
}
