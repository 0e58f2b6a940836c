//go:build !linux

package loadgen

func setBindNoPort(uintptr) error { return nil }
