package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// nonceTag starts every nonce ssebench publishes; the number after it
// indexes the publish-time ring.
const nonceTag = "ssebench-pub-"

const pubRing = 1 << 16

// publisher sends events on an open-loop schedule and matches their
// delivery. Safe for concurrent use.
type publisher struct {
	cfg    *scenarios.Publisher
	client *http.Client
	header http.Header
	start  time.Time
	seq    atomic.Int64
	// ring holds, per publish number modulo its size, the number and the
	// scheduled time (ns since start), so subscribers match without locks.
	ring     [pubRing]struct{ n, t atomic.Int64 }
	inflight chan struct{}
}

func newPublisher(cfg *scenarios.Publisher, h http.Header, ua string, start time.Time) (*publisher, error) {
	h.Set("User-Agent", ua)
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain")
	}
	return &publisher{
		cfg:      cfg,
		start:    start,
		header:   h,
		client:   &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		inflight: make(chan struct{}, 64),
	}, nil
}

// run publishes at the configured rate until ctx ends. A publish that
// would exceed the in-flight bound is counted as an error, not queued, so
// a slow publish endpoint cannot slow the schedule.
func (p *publisher) run(ctx context.Context, rec *recorder) {
	start := p.start
	interval := time.Duration(float64(time.Second) / p.cfg.Rate)
	next := time.Now()
	sh := rec.shard(0)
	for {
		wait := time.Until(next)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		n := p.seq.Add(1)
		slot := &p.ring[n%pubRing]
		slot.t.Store(int64(next.Sub(start)))
		slot.n.Store(n)
		select {
		case p.inflight <- struct{}{}:
			go func() {
				defer func() { <-p.inflight }()
				err := p.publish(ctx, n)
				sh.mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						sh.c.publishErrors++
						sh.fail("publish_error")
					}
				} else {
					sh.c.publishes++
				}
				sh.mu.Unlock()
			}()
		default:
			sh.mu.Lock()
			sh.c.publishErrors++
			sh.fail("publish_backlog")
			sh.mu.Unlock()
		}
		next = next.Add(interval)
	}
}

func (p *publisher) publish(ctx context.Context, n int64) error {
	body := p.cfg.Body
	if body == "" {
		body = "{{nonce}}"
	}
	body = strings.ReplaceAll(body, "{{nonce}}", nonceTag+strconv.FormatInt(n, 10))
	method := p.cfg.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, p.cfg.URL, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = p.header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: HTTP %d", resp.StatusCode)
	}
	return nil
}

// match finds a nonce in an event's data and returns the time since its
// publish was scheduled.
func (p *publisher) match(data []byte, now time.Time) (time.Duration, bool) {
	i := bytes.Index(data, []byte(nonceTag))
	if i < 0 {
		return 0, false
	}
	j := i + len(nonceTag)
	k := j
	for k < len(data) && data[k] >= '0' && data[k] <= '9' {
		k++
	}
	n, ok := atoi(data[j:k])
	if !ok {
		return 0, false
	}
	slot := &p.ring[n%pubRing]
	if slot.n.Load() != n {
		return 0, false
	}
	return now.Sub(p.start) - time.Duration(slot.t.Load()), true
}
