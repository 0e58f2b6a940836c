// Package progress prints a load run's live progress: one updating line
// on a terminal, one line a second otherwise (CI logs).
package progress

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// Printer writes the live progress: one updating line on a
// terminal, plain lines otherwise (CI logs). Its Print method fits
// loadgen.Options.Progress.
type Printer struct {
	W   io.Writer
	TTY bool
}

// NewPrinter prints to w, detecting a terminal when w is a file.
func NewPrinter(w io.Writer) *Printer {
	p := &Printer{W: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.TTY = true
		}
	}
	return p
}

// Print writes one progress line. The teardown (streams closing after the
// duration) is not load and gets none: its open 0 would read as a collapse.
func (p *Printer) Print(pr loadgen.Progress) {
	if pr.Point.Teardown {
		return
	}
	line := Line(pr)
	if p.TTY {
		fmt.Fprintf(p.W, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.W, line)
}

// Done ends the updating line on a terminal.
func (p *Printer) Done() {
	if p.TTY {
		fmt.Fprintln(p.W)
	}
}

// Line renders one second of a run.
func Line(pr loadgen.Progress) string {
	pt := pr.Point
	var b strings.Builder
	if pr.Mode == scenarios.ModeRequest {
		el, total := pr.Elapsed.Round(time.Second), pr.Total.Round(time.Second)
		// Requests in flight at the end of the duration are waited for,
		// so the clock can pass the total: say why it still runs.
		drain := ""
		if total > 0 && el > total {
			drain = " draining"
		}
		fmt.Fprintf(&b, "[%5s/%s%s] in flight %d", el, total, drain, pt.Open)
		if pt.Target > 0 {
			fmt.Fprintf(&b, "/%d", pt.Target)
		}
		fmt.Fprintf(&b, "  req/s %s  tok/s %s  ttft p50 %s p99 %s  itl p99 %s  sent %s ok %s",
			human(pt.Requests), human(pt.Tokens), msText(pt.TTFTP50MS), msText(pt.TTFTP99MS), msText(pt.ITLP99MS),
			human(pr.Totals.Requests), human(pr.Totals.RequestsOK))
	} else {
		fmt.Fprintf(&b, "[%5s/%s] open %d/%d  conn/s %d  ev/s %s  first_event p50 %s p99 %s  delivery p50 %s p99 %s",
			pr.Elapsed.Round(time.Second), pr.Total.Round(time.Second), pt.Open, pt.Target, pt.Connects,
			human(pt.Events), msText(pt.FirstEventP50MS), msText(pt.FirstEventP99MS), msText(pt.DeliveryP50MS), msText(pt.DeliveryP99MS))
	}
	if len(pt.ErrorsByKind) > 0 {
		keys := make([]string, 0, len(pt.ErrorsByKind))
		for k := range pt.ErrorsByKind {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("  errors:")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%d", k, pt.ErrorsByKind[k])
		}
	}
	return b.String()
}

// msText is report.FormatMS, the one way a time reads, with "-" for a
// second that measured none.
func msText(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return report.FormatMS(ms)
}

func human(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
