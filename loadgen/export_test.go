package loadgen

import (
	"context"
	"net"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// dial opens a connection, sends the request with the endpoint's fixed
// body and reads the response headers. The returned conn closes itself
// when ctx ends.
func (ep *endpoint) dial(ctx context.Context, d *net.Dialer, lastEventID string, headersTimeout time.Duration, tm *timings) (*conn, error) {
	return ep.dialBody(ctx, d, lastEventID, nil, headersTimeout, tm)
}

// newMerger merges a subscribe-mode run.
func newMerger(start time.Time) *merger { return newModeMerger(start, scenarios.DefaultMode) }
