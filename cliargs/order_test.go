package cliargs

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestOrder(t *testing.T) {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "json"},
		&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}},
		&cli.BoolFlag{Name: "reconnect"},
		&cli.IntFlag{Name: "count", Aliases: []string{"n"}},
		&cli.GenericFlag{Name: "list", Value: &cli.StringSlice{}},
		&optional{&cli.StringFlag{Name: "out"}},
	}
	cases := []struct {
		name       string
		args, want []string
	}{
		{"nothing", nil, nil},
		{"flags only", []string{"--json", "a"}, []string{"--json", "a"}},
		{"argument only", []string{"URL"}, []string{"--", "URL"}},
		{"flag after the argument", []string{"URL", "--json", "out.json"}, []string{"--json", "out.json", "--", "URL"}},
		{"bool flag does not take the argument", []string{"--reconnect", "URL"}, []string{"--reconnect", "--", "URL"}},
		{"value that starts with a dash", []string{"URL", "--json", "-"}, []string{"--json", "-", "--", "URL"}},
		{"= form", []string{"URL", "--json=out.json", "-n=3"}, []string{"--json=out.json", "--count=3", "--", "URL"}},
		{"one spelling per flag", []string{"-H", "A: b", "URL", "--header", "C: d"}, []string{"--header", "A: b", "--header", "C: d", "--", "URL"}},
		{"order kept", []string{"a", "--count", "1", "b", "--reconnect", "c"}, []string{"--count", "1", "--reconnect", "--", "a", "b", "c"}},
		{"-- ends the flags", []string{"--json", "x", "--", "--reconnect", "-n"}, []string{"--json", "x", "--", "--reconnect", "-n"}},
		{"arguments before and after --", []string{"a", "--", "-b"}, []string{"--", "a", "-b"}},
		{"- is an argument", []string{"-", "--count", "2"}, []string{"--count", "2", "--", "-"}},
		{"generic flag takes a value", []string{"f", "--list", "v"}, []string{"--list", "v", "--", "f"}},
		{"help", []string{"URL", "-h"}, []string{"--help", "--", "URL"}},
		{"unknown flag stays a flag", []string{"URL", "--nope", "v"}, []string{"--nope", "--", "URL", "v"}},
		{"value flag last", []string{"URL", "--json"}, []string{"--json"}},
		{"optional value given", []string{"URL", "--out", "f.ndjson"}, []string{"--out", "f.ndjson", "--", "URL"}},
		{"optional value -", []string{"--out", "-", "URL"}, []string{"--out", "-", "--", "URL"}},
		{"optional value left out before an argument", []string{"--out", "http://x/"}, []string{"--out=-", "--", "http://x/"}},
		{"optional value left out before a flag", []string{"--out", "--count", "2", "URL"}, []string{"--out=-", "--count", "2", "--", "URL"}},
		{"optional value left out at the end", []string{"URL", "--out"}, []string{"--out=-", "--", "URL"}},
		{"optional value with =", []string{"URL", "--out=x"}, []string{"--out=x", "--", "URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Order(flags, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("Order(%q)\n got %q\nwant %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestOrderApp(t *testing.T) {
	app := &cli.App{Commands: []*cli.Command{{Name: "tap", Flags: []cli.Flag{&cli.StringFlag{Name: "json"}}}}}
	cases := []struct{ args, want []string }{
		{[]string{"x", "tap", "URL", "--json", "-"}, []string{"x", "tap", "--json", "-", "--", "URL"}},
		{[]string{"x", "--help", "tap", "URL", "--json", "-"}, []string{"x", "--help", "tap", "--json", "-", "--", "URL"}},
		{[]string{"x", "nope", "URL", "--json", "-"}, []string{"x", "nope", "URL", "--json", "-"}},
		{[]string{"x", "tap", "URL", "--generate-bash-completion"}, []string{"x", "tap", "URL", "--generate-bash-completion"}},
		{[]string{"x"}, []string{"x"}},
	}
	for _, tc := range cases {
		if got := OrderApp(app, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("OrderApp(%q)\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
}

// optional takes a value unless the next argument is a URL or a flag.
type optional struct{ *cli.StringFlag }

func (*optional) NoValue() string { return "-" }
func (*optional) IsValue(next string) bool {
	return next == "-" || (!strings.HasPrefix(next, "-") && !strings.Contains(next, "://"))
}
