package scenarios

// Load and Parse are the scenario file read without flags, for this
// package's tests; commands read files through FromCLI and
// CapacityFromCLI, which apply their flags over the file.

// Load reads, validates and normalizes the scenario file at path. Errors
// are one line per problem, naming the file, line, key and value.
func Load(path string) (*Scenario, error) {
	data, err := readFile(path, "scenario file")
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Parse decodes a scenario from YAML, validates it and normalizes it
// (defaults filled, the profile turned into Stages). name is used in
// error positions ("name:7: ..."), usually the file's path; with "" errors
// say "line 7". The decoding is strict: an unknown key, a duplicate key or
// a value of the wrong type is an error. Top-level keys starting with "x-"
// are skipped, as a place for YAML anchors.
func Parse(data []byte, name string) (*Scenario, error) {
	s, err := parseRaw(data, name)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.Normalize()
	return s, nil
}
