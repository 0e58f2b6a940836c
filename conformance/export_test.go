package conformance

import (
	"slices"
)

// Catalogue returns every check, in report order. The slice is a copy.
func Catalogue() []Check { return slices.Clone(catalogue) }
