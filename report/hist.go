package report

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Every latency histogram in ssebench records microseconds with these
// bounds, so histograms from any shard, process or machine merge exactly.
const (
	HistLowest  = 1                                        // 1 µs
	HistHighest = int64(24 * time.Hour / time.Microsecond) // longer values are clamped, never dropped
	HistSigFigs = 3
)

// NewHist returns an empty histogram with the shared bounds.
// Like every hdrhistogram, it is not safe for concurrent use.
func NewHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistLowest, HistHighest, HistSigFigs)
}

// RecordDuration records d in microseconds, clamped into the histogram's
// range so an outlier is counted at the maximum rather than lost.
func RecordDuration(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < HistLowest {
		us = HistLowest
	} else if us > HistHighest {
		us = HistHighest
	}
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

// Metric summarises one latency histogram in the result JSON. HDR carries
// the histogram itself (V2 compressed, base64) so results merge losslessly.
type Metric struct {
	Count  int64   `json:"count"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
	MaxMS  float64 `json:"max_ms"`
	HDR    string  `json:"hdr,omitempty"`
}

// Summarize turns a histogram into a Metric, encoding it.
func Summarize(h *hdrhistogram.Histogram) Metric {
	m := Metric{Count: h.TotalCount()}
	if m.Count == 0 {
		return m
	}
	m.MinMS = usToMS(h.Min())
	m.MeanMS = h.Mean() / 1000
	m.P50MS = usToMS(h.ValueAtQuantile(50))
	m.P90MS = usToMS(h.ValueAtQuantile(90))
	m.P99MS = usToMS(h.ValueAtQuantile(99))
	m.P999MS = usToMS(h.ValueAtQuantile(99.9))
	m.MaxMS = usToMS(h.Max())
	if b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		m.HDR = string(b)
	}
	return m
}

// Hist decodes the metric's histogram; an empty metric gives an empty one.
func (m Metric) Hist() (*hdrhistogram.Histogram, error) {
	if m.HDR == "" {
		return NewHist(), nil
	}
	h, err := hdrhistogram.Decode([]byte(m.HDR))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// MergeInto adds src to dst, reporting an error if any value was dropped
// (which only happens when the bounds differ).
func MergeInto(dst, src *hdrhistogram.Histogram) error {
	if dropped := dst.Merge(src); dropped != 0 {
		return fmt.Errorf("merge dropped %d values: histogram bounds differ", dropped)
	}
	return nil
}

// Quantile is a histogram's value at q percent (99.9, not 0.999) in ms.
func Quantile(h *hdrhistogram.Histogram, q float64) float64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return usToMS(h.ValueAtQuantile(q))
}

func usToMS(us int64) float64 { return float64(us) / 1000 }
