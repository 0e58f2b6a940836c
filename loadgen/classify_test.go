package loadgen

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// lateCtx is a context whose deadline has passed but whose Done closes a
// moment later, as a real deadline's timer does: a dial that watched the
// deadline itself returns "i/o timeout" first.
type lateCtx struct {
	context.Context
	dl   time.Time
	done chan struct{}
}

func (c *lateCtx) Deadline() (time.Time, bool) { return c.dl, true }
func (c *lateCtx) Done() <-chan struct{}       { return c.done }
func (c *lateCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// A dial cut by the run's end is cancelled, not a connect error, even when
// it returns before the context says it is done (streams reconnecting at
// the end of a run were counted failed, connect_error "i/o timeout").
func TestDialAtTheDeadlineIsCancelled(t *testing.T) {
	ctx := &lateCtx{Context: context.Background(), dl: time.Now().Add(-time.Millisecond), done: make(chan struct{})}
	time.AfterFunc(20*time.Millisecond, func() { close(ctx.done) })
	err := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}
	if got := ClassifyDialErr(ctx, err); got != report.EndCancelled {
		t.Fatalf("class %q, want %q", got, report.EndCancelled)
	}
	// Before its deadline the same error is the server's.
	live, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if got := ClassifyDialErr(live, err); got != report.EndConnectError {
		t.Fatalf("class %q before the deadline, want %q", got, report.EndConnectError)
	}
}
