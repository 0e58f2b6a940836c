package observe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// A real client_golang endpoint with OpenMetrics on: the observer asks for
// OpenMetrics first, gets it, and reads the same figures as the text
// format gives (the counter's sample is process_cpu_seconds_total in both).
func TestPromObserverOpenMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	rss := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_resident_memory_bytes", Help: "Resident memory size in bytes."})
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "Total user and system CPU time spent in seconds."})
	fds := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_open_fds", Help: "Number of open file descriptors."})
	threads := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_threads", Help: "Number of OS threads created."})
	reg.MustRegister(rss, cpu, fds, threads)
	rss.Set(123456789)
	cpu.Add(2.75)
	fds.Set(42)
	threads.Set(9)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	for _, accept := range []string{"", "text/plain;version=0.0.4"} {
		var got atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if accept != "" {
				r.Header.Set("Accept", accept) // a server that only speaks text
			}
			rec := &ctRecorder{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			got.Store(rec.Header().Get("Content-Type"))
		}))
		s, err := NewPromObserver(srv.URL).Sample(context.Background())
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := got.Load().(string)
		wantCT := "application/openmetrics-text"
		if accept != "" {
			wantCT = "text/plain"
		}
		if !strings.HasPrefix(ct, wantCT) {
			t.Errorf("answered %q, want %s", ct, wantCT)
		}
		if s.RSSBytes != 123456789 || s.CPUSeconds != 2.75 || s.OpenFDs != 42 || s.Threads != 9 {
			t.Errorf("%s: sample %+v, want the registry's values", ct, s)
		}
	}
}

// ParsePromText is ParseProm of the text format 0.0.4, what the captures
// in testdata/prom are.
func ParsePromText(r io.Reader) ([]PromSample, error) {
	return ParseProm(r, expfmt.NewFormat(expfmt.TypeTextPlain))
}

type ctRecorder struct{ http.ResponseWriter }

func (r *ctRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
