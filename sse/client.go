package sse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// DefaultRetry is the reconnection time a browser uses until the stream
// sends a retry field (the spec leaves it to the browser: "a few
// seconds"; Chromium's is 3 s).
const DefaultRetry = 3 * time.Second

// NewRequest builds a request the way a browser's EventSource makes one
// (Accept: text/event-stream, Cache-Control: no-cache, Last-Event-ID when
// resuming), extended with a method and body for POST endpoints in the
// fetch-event-source style. header values override the defaults.
func NewRequest(ctx context.Context, method, url string, body []byte, header http.Header, lastEventID string) (*http.Request, error) {
	if method == "" {
		method = http.MethodGet
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return req, nil
}

// IsEventStream reports whether a Content-Type's essence is
// text/event-stream, the check EventSource makes before reading.
func IsEventStream(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])
	}
	return strings.EqualFold(mt, "text/event-stream")
}

// ResponseError says why a response is not an event stream a browser would
// read: a status other than 200, or a wrong Content-Type.
type ResponseError struct {
	Status      int
	ContentType string
}

func (e *ResponseError) Error() string {
	if e.Status != http.StatusOK {
		return fmt.Sprintf("HTTP status %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("Content-Type %q is not text/event-stream", e.ContentType)
}

// CheckResponse returns a *ResponseError unless resp is 200 with an
// event-stream Content-Type. A 204 means "stop reconnecting" to a browser.
func CheckResponse(resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK || !IsEventStream(ct) {
		return &ResponseError{Status: resp.StatusCode, ContentType: ct}
	}
	return nil
}
