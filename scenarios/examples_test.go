package scenarios

// The example scenarios are read by this package's tests, which hold each
// to the rules (every example parses, runs its documented shape); the
// README and the CLI tests run them from their files.

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed examples/*.yaml
var examples embed.FS

// exampleFiles returns the example scenarios shipped in scenarios/examples,
// by file name ("steady.yaml"), each a fresh copy.
func exampleFiles() map[string][]byte {
	out := map[string][]byte{}
	names, _ := fs.Glob(examples, "examples/*.yaml")
	for _, n := range names {
		data, err := examples.ReadFile(n)
		if err == nil {
			out[path.Base(n)] = data
		}
	}
	return out
}
