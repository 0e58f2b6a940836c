package scenarios

import (
	"strings"
	"testing"
)

func TestParseAddrPool(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   []string
		want string // the pool joined by spaces, or the error's start
		err  bool
	}{
		{[]string{"127.0.0.1-127.0.0.4"}, "127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4", false},
		{[]string{"127.0.0.0/29"}, "127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6", false},
		{[]string{"127.0.0.8/31"}, "127.0.0.8 127.0.0.9", false},
		{[]string{"127.0.0.1, 127.0.0.3", "::1"}, "127.0.0.1 127.0.0.3 ::1", false},
		{nil, "", false},
		{[]string{"127.0.0.1,127.0.0.1"}, "address 127.0.0.1 is listed twice", true},
		{[]string{"127.0.0.9-127.0.0.1"}, `"127.0.0.9-127.0.0.1" is not an address range`, true},
		{[]string{"127.0.0.1-::1"}, "is not an address range", true},
		{[]string{"localhost"}, `"localhost" is not an IP address`, true},
		{[]string{"10.0.0.0/8"}, "holds more than", true},
	}
	for _, tc := range cases {
		got, err := ParseAddrPool(tc.in)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: err %v, want %q", tc.in, err, tc.want)
			}
			continue
		}
		var parts []string
		for _, a := range got {
			parts = append(parts, a.String())
		}
		if err != nil || strings.Join(parts, " ") != tc.want {
			t.Errorf("%v: got %v, %v; want %s", tc.in, parts, err, tc.want)
		}
	}
}

func TestScaleKeysFromYAMLAndFlags(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte("url: http://127.0.0.1:8080/events\nconnections: 10\nduration: 5s\nsource_addrs: 127.0.0.1-127.0.0.3\nhttp2: true\nstreams_per_conn: 50\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SourceAddrs) != 1 || !s.HTTP2 || s.StreamsPerConn != 50 {
		t.Fatalf("%+v", s)
	}
	_, err = Parse([]byte("url: http://127.0.0.1:8080/events\nconnections: 10\nduration: 5s\nsource_addrs: [127.0.0.1, nope]\n"), "s.yaml")
	if err == nil || !strings.Contains(err.Error(), "s.yaml:4") || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("bad address error: %v", err)
	}
}
