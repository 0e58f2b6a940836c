package report

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A minimal Chrome DevTools Protocol client over a minimal WebSocket
// client (RFC 6455: masked client frames, fragmented and control frames
// read), enough to drive headless Chromium from a test without a
// dependency.

// chromiumPath finds Debian's chromium; test.sh installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the HTML report test needs a real headless browser (./test.sh installs Debian's chromium)")
	return ""
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// browser is one headless Chromium and a CDP connection to it. Safe for
// use by one test goroutine (a reader goroutine routes the replies).
type browser struct {
	t    *testing.T
	cmd  *exec.Cmd
	conn net.Conn
	wmu  sync.Mutex

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	events  []cdpMessage
	notify  chan struct{}
	closed  chan struct{}
	readErr error
}

// startBrowser launches chromium with a throwaway profile and every
// background network feature off, so any request seen is the page's.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	profile := t.TempDir()
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
		"--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers die with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, cmd: cmd, pending: map[int]chan cdpMessage{}, notify: make(chan struct{}, 1), closed: make(chan struct{})}
	t.Cleanup(b.close)

	wsURL := make(chan string, 1)
	var logTail strings.Builder
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				wsURL <- m[1]
			} else if logTail.Len() < 4000 {
				logTail.WriteString(sc.Text() + "\n")
			}
		}
	}()
	select {
	case u := <-wsURL:
		b.dial(u)
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not open its DevTools port within 30s")
	}
	return b
}

func (b *browser) close() {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, _ = b.callCtx(ctx, "", "Browser.close", nil)
		cancel()
		b.conn.Close()
	}
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// Only the process group this test started.
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// dial opens the WebSocket (RFC 6455 client handshake).
func (b *browser) dial(raw string) {
	t := b.t
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, k)
	br := bufio.NewReaderSize(conn, 1<<16)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	sum := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("websocket handshake: %s", resp.Status)
	}
	b.conn = conn
	go b.readLoop(br)
}

func (b *browser) writeFrame(opcode byte, payload []byte) error {
	var hdr [14]byte
	hdr[0] = 0x80 | opcode
	n := 2
	switch l := len(payload); {
	case l < 126:
		hdr[1] = 0x80 | byte(l)
	case l < 1<<16:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	var mask [4]byte
	rand.Read(mask[:])
	copy(hdr[n:], mask[:])
	n += 4
	masked := make([]byte, len(payload))
	for i, c := range payload {
		masked[i] = c ^ mask[i%4]
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := b.conn.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := b.conn.Write(masked)
	return err
}

func (b *browser) readLoop(br *bufio.Reader) {
	defer close(b.closed)
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			b.setReadErr(err)
			return
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		length := uint64(h[1] & 0x7f)
		switch length {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				b.setReadErr(err)
				return
			}
			length = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				b.setReadErr(err)
				return
			}
			length = binary.BigEndian.Uint64(ext[:])
		}
		if length > 256<<20 {
			b.setReadErr(fmt.Errorf("websocket frame of %d bytes", length))
			return
		}
		var mask [4]byte
		if h[1]&0x80 != 0 {
			io.ReadFull(br, mask[:])
		}
		payload := make([]byte, length)
		if _, err := io.ReadFull(br, payload); err != nil {
			b.setReadErr(err)
			return
		}
		if h[1]&0x80 != 0 {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case 0x8: // close
			b.setReadErr(io.EOF)
			return
		case 0x9: // ping
			b.writeFrame(0xA, payload)
			continue
		case 0xA:
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		var m cdpMessage
		if err := json.Unmarshal(msg, &m); err == nil {
			b.route(m)
		}
		msg = nil
	}
}

func (b *browser) setReadErr(err error) {
	b.mu.Lock()
	b.readErr = err
	b.mu.Unlock()
}

func (b *browser) route(m cdpMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.ID != 0 {
		if ch, ok := b.pending[m.ID]; ok {
			delete(b.pending, m.ID)
			ch <- m
		}
		return
	}
	b.events = append(b.events, m)
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *browser) callCtx(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	body, _ := json.Marshal(req)
	if err := b.writeFrame(0x1, body); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-b.closed:
		return nil, fmt.Errorf("%s: connection closed: %v", method, b.readErr)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// call sends a command and decodes its result into out (when non-nil).
func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := b.callCtx(ctx, session, method, params)
	if err != nil {
		b.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			b.t.Fatalf("%s result: %v", method, err)
		}
	}
}

// waitEvent waits for an event of a session, returning it.
func (b *browser) waitEvent(session, method string, timeout time.Duration) cdpMessage {
	b.t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		b.mu.Lock()
		evs := b.events[seen:]
		seen = len(b.events)
		b.mu.Unlock()
		for _, e := range evs {
			if e.Method == method && e.SessionID == session {
				return e
			}
		}
		select {
		case <-b.notify:
		case <-b.closed:
			b.t.Fatalf("waiting for %s: connection closed: %v", method, b.readErr)
		case <-deadline:
			b.t.Fatalf("no %s within %v", method, timeout)
		}
	}
}

// eventsOf returns the events of a session so far.
func (b *browser) eventsOf(session string) []cdpMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []cdpMessage
	for _, e := range b.events {
		if e.SessionID == session {
			out = append(out, e)
		}
	}
	return out
}

// page is one tab attached with a flat session.
type page struct {
	b       *browser
	session string
}

// openPage creates a tab at the given viewport with the Runtime, Log,
// Network and Page domains on, so console messages, exceptions and every
// request are recorded from the first byte, then loads u.
func (b *browser) openPage(u string, width, height int) *page {
	b.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	p := &page{b: b, session: att.SessionID}
	for _, d := range []string{"Runtime.enable", "Log.enable", "Network.enable", "Page.enable"} {
		b.call(p.session, d, nil, nil)
	}
	b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	b.call(p.session, "Page.navigate", map[string]any{"url": u}, nil)
	b.waitEvent(p.session, "Page.loadEventFired", 30*time.Second)
	// Let late console messages or requests arrive before anyone looks.
	time.Sleep(300 * time.Millisecond)
	return p
}

// eval runs a script in the page and decodes its JSON-able value.
func (p *page) eval(script string, out any) {
	p.b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": script, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		p.b.t.Fatalf("script failed: %s %s", res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		p.b.t.Fatalf("script value %s: %v", res.Result.Value, err)
	}
}

// problems lists what the page logged as an error or warning, threw, or
// failed to load; requests lists every URL it asked for.
func (p *page) problems() (problems, requests []string) {
	for _, e := range p.b.eventsOf(p.session) {
		switch e.Method {
		case "Runtime.consoleAPICalled":
			var ev struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
			}
			json.Unmarshal(e.Params, &ev)
			if ev.Type == "error" || ev.Type == "warning" || ev.Type == "assert" {
				problems = append(problems, fmt.Sprintf("console.%s %v", ev.Type, ev.Args))
			}
		case "Runtime.exceptionThrown":
			problems = append(problems, "exception: "+string(e.Params))
		case "Log.entryAdded":
			var ev struct {
				Entry struct {
					Level, Source, Text, URL string
				} `json:"entry"`
			}
			json.Unmarshal(e.Params, &ev)
			if ev.Entry.Level == "error" || ev.Entry.Level == "warning" {
				problems = append(problems, fmt.Sprintf("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case "Network.requestWillBeSent":
			var ev struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			}
			json.Unmarshal(e.Params, &ev)
			requests = append(requests, ev.Request.URL)
		case "Network.loadingFailed":
			problems = append(problems, "loading failed: "+string(e.Params))
		}
	}
	return problems, requests
}

// pdf prints the page as Chromium would to paper.
func (p *page) pdf() []byte {
	var res struct {
		Data string `json:"data"`
	}
	p.b.call(p.session, "Page.printToPDF", map[string]any{"printBackground": true, "paperWidth": 8.27, "paperHeight": 11.69}, &res)
	b, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		p.b.t.Fatal(err)
	}
	return b
}

// screenshots saves the whole page as PNG slices of at most 1400 px
// height (for a person to look at; see SSEBENCH_SCREENSHOTS).
func (p *page) screenshots(dir, name string) error {
	var m struct {
		CSSContentSize struct {
			Width, Height float64
		} `json:"cssContentSize"`
	}
	p.b.call(p.session, "Page.getLayoutMetrics", nil, &m)
	const slice = 1400.0
	for i, y := 0, 0.0; y < m.CSSContentSize.Height; i, y = i+1, y+slice {
		var res struct {
			Data string `json:"data"`
		}
		p.b.call(p.session, "Page.captureScreenshot", map[string]any{
			"format": "png", "captureBeyondViewport": true,
			"clip": map[string]any{"x": 0, "y": y, "width": m.CSSContentSize.Width, "height": min(slice, m.CSSContentSize.Height-y), "scale": 1},
		}, &res)
		b, err := base64.StdEncoding.DecodeString(res.Data)
		if err != nil {
			return err
		}
		if err := os.WriteFile(fmt.Sprintf("%s/%s-%d.png", dir, name, i), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
