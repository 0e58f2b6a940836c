// Command plainclient is the baseline bench/scale compares ssebench with:
// what a developer writes first, one goroutine per stream on net/http
// with a bufio.Reader, counting events (blank-line ends) and nothing
// else: no reconnects, no histograms, no timestamps.
//
//	plainclient -url URL -n 10000 -ramp 10s -hold 60s
//
// Every second it prints "T OPEN EVENTS" (seconds since start, streams
// open, events so far); at the end one line "held N failed N".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "stream URL")
	n := flag.Int("n", 1000, "streams")
	ramp := flag.Duration("ramp", 10*time.Second, "open the streams evenly over this")
	hold := flag.Duration("hold", 60*time.Second, "then hold them this long")
	flag.Parse()
	if *url == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "plainclient: -url and -n are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *ramp+*hold)
	defer cancel()
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: -1,
		DisableCompression:  true,
	}
	client := &http.Client{Transport: tr}
	var open, events, failed, held atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				fmt.Printf("%.3f %d %d\n", now.Sub(start).Seconds(), open.Load(), events.Load())
			}
		}
	}()
	for i := range *n {
		due := start.Add(time.Duration(float64(*ramp) * float64(i) / float64(*n)))
		time.Sleep(time.Until(due))
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
			if err != nil {
				failed.Add(1)
				return
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				if err == nil {
					resp.Body.Close()
				}
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			open.Add(1)
			held.Add(1)
			defer open.Add(-1)
			br := bufio.NewReader(resp.Body)
			inEvent := false
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				switch {
				case len(line) <= 2 && (line[0] == '\n' || line[0] == '\r'):
					if inEvent {
						events.Add(1)
					}
					inEvent = false
				case line[0] != ':':
					inEvent = true
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("held %d failed %d\n", held.Load(), failed.Load())
}
