package scenarios

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed examples/*.yaml
var examples embed.FS

// Examples returns the example scenarios shipped in scenarios/examples,
// by file name ("steady.yaml"), each a fresh copy.
func Examples() map[string][]byte {
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
