package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

func TestSourceAddrsRoundRobin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[host]++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: x\n\n")
	}))
	defer ts.Close()
	s := scenario(t, ts.URL, 12, time.Second, func(s *scenarios.Scenario) {
		s.SourceAddrs = []string{"127.0.0.2-127.0.0.4"}
		s.Reconnect.Policy = "never"
	})
	run(t, s)
	mu.Lock()
	defer mu.Unlock()
	if seen["127.0.0.2"] != 4 || seen["127.0.0.3"] != 4 || seen["127.0.0.4"] != 4 {
		t.Fatalf("connections per source address: %v, want 4 from each of 127.0.0.2-4", seen)
	}
}

func TestSourceAddrThatCannotBind(t *testing.T) {
	t.Parallel()
	// 192.0.2.1 is documentation space (RFC 5737): never configured here,
	// and nothing is sent to it; only the local bind is tried.
	s := scenario(t, "http://127.0.0.1:1/", 1, time.Second, func(s *scenarios.Scenario) {
		s.SourceAddrs = []string{"192.0.2.1"}
	})
	_, err := Run(context.Background(), s, Options{})
	if err == nil || !strings.Contains(err.Error(), "source address 192.0.2.1 cannot be bound") {
		t.Fatalf("err = %v", err)
	}
}

func TestAutoPoolOnLoopback(t *testing.T) {
	t.Parallel()
	s := scenario(t, "http://127.0.0.1:8080/events", 60000, time.Minute, nil)
	pool := autoPool(s)
	if len(pool) != 3 || pool[0].String() != "127.0.0.1" || pool[2].String() != "127.0.0.3" {
		t.Fatalf("pool for 60,000 streams to one loopback port: %v, want 127.0.0.1-3", pool)
	}
	if p := autoPool(scenario(t, "http://127.0.0.1:8080/events", 20000, time.Minute, nil)); p != nil {
		t.Fatalf("20,000 streams need no pool, got %v", p)
	}
}
