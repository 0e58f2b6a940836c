package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// nonceTag starts every nonce ssebench publishes. The nonce carries the
// scheduled publish time (unix ns) itself, so a subscriber in any process,
// or on any clock-synchronised machine, measures publish-to-delivery
// without sharing state with the publisher: "ssebench-pub-<seq>-<unix ns>".
const nonceTag = "ssebench-pub-"

// publisher sends events on an open-loop schedule and matches their
// delivery. Safe for concurrent use.
type publisher struct {
	cfg      *scenarios.Publisher
	client   *http.Client
	header   http.Header
	start    time.Time
	seq      atomic.Int64
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
	interval := time.Duration(float64(time.Second) / p.cfg.Rate)
	next := p.start
	sh := rec.stripe(0)
	// The run's final drain comes after run returns: wait for publishes in
	// flight, so one that finishes last is counted, not lost.
	var inflight sync.WaitGroup
	defer inflight.Wait()
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
		scheduled := next
		select {
		case p.inflight <- struct{}{}:
			inflight.Go(func() {
				defer func() { <-p.inflight }()
				err := p.publish(ctx, n, scheduled)
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
			})
		default:
			sh.mu.Lock()
			sh.c.publishErrors++
			sh.fail("publish_backlog")
			sh.mu.Unlock()
		}
		next = next.Add(interval)
	}
}

func (p *publisher) publish(ctx context.Context, n int64, scheduled time.Time) error {
	body := p.cfg.Body
	if body == "" {
		body = "{{nonce}}"
	}
	nonce := nonceTag + strconv.FormatInt(n, 10) + "-" + strconv.FormatInt(scheduled.UnixNano(), 10)
	body = strings.ReplaceAll(body, "{{nonce}}", nonce)
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

// matchNonce finds a publish nonce in an event's data and returns the time
// since that publish was scheduled.
func matchNonce(data []byte, now time.Time) (time.Duration, bool) {
	i := bytes.Index(data, []byte(nonceTag))
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(nonceTag):]
	dash := bytes.IndexByte(rest, '-')
	if dash < 0 {
		return 0, false
	}
	rest = rest[dash+1:]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	ns, ok := atoi(rest[:k])
	if !ok {
		return 0, false
	}
	return now.Sub(time.Unix(0, ns)), true
}
