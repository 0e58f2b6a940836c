package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

func TestFailFastDecidesOnTheFirstSeconds(t *testing.T) {
	refused := "dial tcp 127.0.0.1:1: connect: connection refused"
	unverified := "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	cases := []struct {
		name     string
		elapsed  time.Duration
		totals   report.Counters
		insecure bool
		stop     []string // what the cause says; nil: no stop
		armed    bool     // still undecided afterwards
	}{
		{name: "refused", elapsed: 2 * time.Second,
			totals: report.Counters{StreamsFailed: 7, Ends: map[string]int64{report.EndConnectError: 7}, ErrorSamples: map[string]string{report.EndConnectError: refused}},
			stop:   []string{"nothing could connect", "all 7 attempts in the first 2s failed with connect_error", refused}},
		{name: "one attempt", elapsed: 3 * time.Second,
			totals: report.Counters{StreamsFailed: 1, Ends: map[string]int64{report.EndConnectError: 1}},
			stop:   []string{"the one attempt in the first 3s"}},
		{name: "certificate", elapsed: 2 * time.Second,
			totals: report.Counters{StreamsFailed: 3, Ends: map[string]int64{report.EndTLSError: 3}, ErrorSamples: map[string]string{report.EndTLSError: unverified}},
			stop:   []string{"tls_error", unverified + " (" + report.InsecureHint + ")"}},
		{name: "certificate while insecure names no --insecure", elapsed: 2 * time.Second, insecure: true,
			totals: report.Counters{StreamsFailed: 3, Ends: map[string]int64{report.EndTLSError: 3}, ErrorSamples: map[string]string{report.EndTLSError: "tls: handshake failure"}},
			stop:   []string{"tls_error: tls: handshake failure"}},
		{name: "too early", elapsed: time.Second, armed: true,
			totals: report.Counters{StreamsFailed: 3, Ends: map[string]int64{report.EndConnectError: 3}}},
		{name: "nothing ended yet", elapsed: 2 * time.Second, armed: true, totals: report.Counters{}},
		{name: "a stream opened", elapsed: 2 * time.Second,
			totals: report.Counters{StreamsOpened: 1, StreamsFailed: 3, Ends: map[string]int64{report.EndConnectError: 3}}},
		{name: "a request answered", elapsed: 2 * time.Second,
			totals: report.Counters{RequestsOK: 1, Ends: map[string]int64{report.EndConnectError: 3}}},
		{name: "two causes", elapsed: 2 * time.Second,
			totals: report.Counters{StreamsFailed: 4, Ends: map[string]int64{report.EndConnectError: 3, report.EndTLSError: 1}}},
		{name: "an HTTP status is an answer", elapsed: 2 * time.Second,
			totals: report.Counters{StreamsFailed: 4, Ends: map[string]int64{report.EndHTTP(503): 4}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &failFast{armed: true, insecure: tc.insecure}
			err := f.check(Progress{Elapsed: tc.elapsed, Totals: tc.totals})
			if tc.stop == nil && err != nil {
				t.Fatalf("stopped: %v", err)
			}
			if tc.stop != nil {
				if err == nil {
					t.Fatal("did not stop")
				}
				for _, want := range tc.stop {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("cause %q lacks %q", err, want)
					}
				}
				if tc.insecure && strings.Contains(err.Error(), "--insecure") {
					t.Errorf("cause %q suggests --insecure, already set", err)
				}
			}
			if f.armed != tc.armed {
				t.Errorf("armed %v afterwards, want %v", f.armed, tc.armed)
			}
		})
	}
	// Decided once: a later second with nothing opened does not stop a
	// run that met something else first.
	f := &failFast{armed: true}
	f.check(Progress{Elapsed: 2 * time.Second, Totals: report.Counters{Ends: map[string]int64{report.EndHTTP(503): 1}}})
	if err := f.check(Progress{Elapsed: 3 * time.Second, Totals: report.Counters{Ends: map[string]int64{report.EndConnectError: 9}}}); err != nil {
		t.Errorf("decided twice: %v", err)
	}
	if err := (&failFast{}).check(Progress{Elapsed: 2 * time.Second, Totals: cases[0].totals}); err != nil {
		t.Errorf("FailFast off, but stopped: %v", err)
	}
}

func TestErrorSamplesRepeatNoPrefix(t *testing.T) {
	inner := errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")
	cases := map[error]string{
		fmt.Errorf("tls: %w", inner): inner.Error(),
		fmt.Errorf("dial tcp: %w", errors.New("dial tcp 127.0.0.1:1: connect: connection refused")): "dial tcp 127.0.0.1:1: connect: connection refused",
		errors.New("read: read: EOF"):                                         "read: EOF",
		errors.New(`Get "http://x/": dial tcp 127.0.0.1:1: connect: refused`): `Get "http://x/": dial tcp 127.0.0.1:1: connect: refused`,
	}
	for err, want := range cases {
		var sh stripe
		sh.sample(report.EndTLSError, err)
		if got := sh.c.samples[report.EndTLSError]; got != want {
			t.Errorf("sample of %q = %q, want %q", err, got, want)
		}
	}
}
