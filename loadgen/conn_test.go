package loadgen

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ssebench/ssebench/sse"
)

// TestDataArrivingBetweenReads guards the stream reader against losing a
// readiness notification: an event that lands while the client is busy
// (nobody blocked in Read) must be read at once, not when the next packet
// happens to arrive.
func TestDataArrivingBetweenReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	second := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: a\n\n"))
		select {
		case <-second:
		case <-done:
			return
		}
		c.Write([]byte("data: b\n\n"))
		<-done // hold the connection open: no later packet may rescue the read
	}()

	ep, err := newEndpoint("http://"+ln.Addr().String()+"/", "GET", nil, nil, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	var tm timings
	c, err := ep.dial(context.Background(), &net.Dialer{}, "", 5*time.Second, &tm)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	dec := sse.NewDecoder(c.resp.Body, sse.Config{})
	if !dec.Next() || string(dec.Data()) != "a" {
		t.Fatalf("first event: %v %q", dec.Err(), dec.Data())
	}
	close(second)
	time.Sleep(100 * time.Millisecond) // "b" arrives while nobody reads
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if !dec.Next() {
		t.Fatalf("second event not read: %v", dec.Err())
	}
	if got := string(dec.Data()); got != "b" {
		t.Fatalf("second event %q, want b", got)
	}
	if wait := time.Since(start); wait > 500*time.Millisecond {
		t.Fatalf("second event waited %v after it had arrived", wait)
	}
}
