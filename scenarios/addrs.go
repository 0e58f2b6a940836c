package scenarios

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxAddrPool bounds a source-address pool.
const MaxAddrPool = 65536

// ParseAddrPool expands source-address specs: single addresses, ranges
// "127.0.0.1-127.0.0.8", CIDRs "127.0.0.0/29" (IPv4 network and broadcast
// addresses left out below /31) and comma-separated lists of those.
// Duplicates are an error, so a typo cannot silently halve a pool.
func ParseAddrPool(specs []string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) error {
		if seen[a] {
			return fmt.Errorf("address %s is listed twice", a)
		}
		if len(out) >= MaxAddrPool {
			return fmt.Errorf("more than %d source addresses", MaxAddrPool)
		}
		seen[a] = true
		out = append(out, a)
		return nil
	}
	for _, spec := range specs {
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if err := expandAddr(item, add); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func expandAddr(item string, add func(netip.Addr) error) error {
	if lo, hi, ok := strings.Cut(item, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
			return fmt.Errorf("%q is not an address range (e.g. 127.0.0.1-127.0.0.8)", item)
		}
		for x := a; ; x = x.Next() {
			if err := add(x); err != nil {
				return err
			}
			if x == b {
				return nil
			}
		}
	}
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR (e.g. 127.0.0.0/29)", item)
		}
		p = p.Masked()
		bits := p.Addr().BitLen() - p.Bits()
		if bits > 16 {
			return fmt.Errorf("%q holds more than %d addresses", item, MaxAddrPool)
		}
		first, n := p.Addr(), 1<<bits
		skipEnds := p.Addr().Is4() && p.Bits() < 31
		for i, x := 0, first; i < n; i, x = i+1, x.Next() {
			if skipEnds && (i == 0 || i == n-1) {
				continue
			}
			if err := add(x); err != nil {
				return err
			}
		}
		return nil
	}
	a, err := netip.ParseAddr(item)
	if err != nil {
		return fmt.Errorf("%q is not an IP address, range or CIDR", item)
	}
	return add(a)
}
