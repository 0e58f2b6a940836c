package scenarios

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Tests here use t.Setenv, so they do not run in parallel.

func TestExpandedHeaders(t *testing.T) {
	t.Setenv("SSEBENCH_TEST_TOKEN", "s3cret")
	t.Setenv("SSEBENCH_TEST_EMPTY", "")
	s, err := Parse([]byte(`url: http://127.0.0.1:1/
connections: 1
duration: 1s
headers:
  Authorization: Bearer ${SSEBENCH_TEST_TOKEN}
  x-price: $5 and $${LITERAL}
  X-Empty: "${SSEBENCH_TEST_EMPTY}"
`), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.ExpandedHeaders()
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Authorization": {"Bearer s3cret"},
		"X-Price":       {"$5 and ${LITERAL}"},
		"X-Empty":       {""},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
	// The scenario keeps the reference, not the secret.
	if s.Headers["Authorization"] != "Bearer ${SSEBENCH_TEST_TOKEN}" {
		t.Errorf("scenario header changed to %q", s.Headers["Authorization"])
	}
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "s3cret") {
		t.Errorf("secret in JSON: %s", b)
	}
}

func TestExpandedHeadersUnsetVariable(t *testing.T) {
	t.Setenv("SSEBENCH_TEST_SET", "x")
	s, err := Parse([]byte(`url: http://127.0.0.1:1/
connections: 1
duration: 1s
headers:
  X-Ok: ${SSEBENCH_TEST_SET}
  Authorization: Bearer ${SSEBENCH_TEST_SURELY_UNSET}
`), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ExpandedHeaders()
	want := `scenario.yaml:6: headers.Authorization: environment variable SSEBENCH_TEST_SURELY_UNSET is not set`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestExpandedHeadersRejectsLineBreak(t *testing.T) {
	t.Setenv("SSEBENCH_TEST_BAD", "a\r\nInjected: yes")
	s := &Scenario{Headers: map[string]string{"X-A": "${SSEBENCH_TEST_BAD}"}}
	_, err := s.ExpandedHeaders()
	if err == nil || strings.Contains(err.Error(), "Injected") {
		t.Errorf("got %v; want an error that does not print the value", err)
	}
}

func TestPublisherHeaders(t *testing.T) {
	t.Setenv("SSEBENCH_TEST_PUB", "k")
	s, err := Parse([]byte(`url: http://127.0.0.1:1/
connections: 1
duration: 1s
publisher:
  url: http://127.0.0.1:1/publish
  rate: 1
  headers:
    X-Api-Key: ${SSEBENCH_TEST_PUB}
    X-Other: ${SSEBENCH_TEST_PUB_UNSET}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.PublisherHeaders()
	if want := `p.yaml:9: publisher.headers.X-Other: environment variable SSEBENCH_TEST_PUB_UNSET is not set`; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	delete(s.Publisher.Headers, "X-Other")
	h, err := s.Publisher.ExpandedHeaders()
	if err != nil || h.Get("X-Api-Key") != "k" {
		t.Errorf("got %v, %v", h, err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	s := &Scenario{
		URLs: []string{"https://user:pw@example.com/events?topic=a&access_token=abc&api_key=xyz", "http://127.0.0.1:1/plain?rate=1"},
		Headers: map[string]string{
			"Authorization":             "Bearer abc",
			"Proxy-Authorization":       "Basic abc",
			"Cookie":                    "sid=abc",
			"X-Api-Key":                 "abc",
			"X-Auth-Token":              "abc",
			"Ocp-Apim-Subscription-Key": "abc",
			"X-Tenant":                  "${TENANT}",
			"Accept":                    "text/event-stream",
			"Last-Event-ID":             "42",
		},
		Stages:     []Stage{{Duration: 1, Target: 1}},
		Thresholds: []string{"x"},
		Chaos:      Chaos{Drop: &Drop{Percent: 1, Every: 1}},
		Publisher: &Publisher{URL: "http://u:p@127.0.0.1:1/publish?token=t", Headers: map[string]string{
			"Authorization": "Bearer p", "Content-Type": "application/json", "X-Sig": "${SIG}",
		}},
	}
	before, _ := json.Marshal(s)
	r := s.Redacted()
	after, _ := json.Marshal(s)
	if string(before) != string(after) {
		t.Fatalf("Redacted changed the original:\n%s\n%s", before, after)
	}

	wantHeaders := map[string]string{
		"Authorization": Redaction, "Proxy-Authorization": Redaction, "Cookie": Redaction, "X-Api-Key": Redaction,
		"X-Auth-Token": Redaction, "Ocp-Apim-Subscription-Key": Redaction, "X-Tenant": Redaction,
		"Accept": "text/event-stream", "Last-Event-ID": "42",
	}
	if !reflect.DeepEqual(r.Headers, wantHeaders) {
		t.Errorf("headers\n got %v\nwant %v", r.Headers, wantHeaders)
	}
	wantPub := map[string]string{"Authorization": Redaction, "Content-Type": "application/json", "X-Sig": Redaction}
	if !reflect.DeepEqual(r.Publisher.Headers, wantPub) {
		t.Errorf("publisher headers %v", r.Publisher.Headers)
	}
	wantURLs := []string{
		"https://user:[redacted]@example.com/events?topic=a&access_token=[redacted]&api_key=[redacted]",
		"http://127.0.0.1:1/plain?rate=1",
	}
	if !reflect.DeepEqual(r.URLs, wantURLs) {
		t.Errorf("urls %q", r.URLs)
	}
	if r.Publisher.URL != "http://u:[redacted]@127.0.0.1:1/publish?token=[redacted]" {
		t.Errorf("publisher url %q", r.Publisher.URL)
	}
	b, _ := json.Marshal(r)
	for _, secret := range []string{"abc", "Bearer p", "pw@", "xyz", "=t"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted JSON still holds %q: %s", secret, b)
		}
	}

	// The copy is deep: changing it leaves the original alone.
	r.Stages[0].Target = 99
	r.Thresholds[0] = "y"
	r.Chaos.Drop.Percent = 50
	r.URLs[1] = "z"
	r.Publisher.Rate = 9
	after, _ = json.Marshal(s)
	if string(before) != string(after) {
		t.Errorf("changing the copy changed the original:\n%s\n%s", before, after)
	}
}

func TestIsSecretHeader(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Authorization": true, "authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
		"X-Api-Key": true, "X-API-KEY": true, "Api_Key": true, "X-Auth-Token": true, "X-CSRF-Token": true, "X-Client-Secret": true,
		"Accept": false, "Last-Event-ID": false, "Content-Type": false, "X-Keyboard": false, "X-Monkey": false, "User-Agent": false,
	} {
		if got := IsSecretHeader(name); got != want {
			t.Errorf("IsSecretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
