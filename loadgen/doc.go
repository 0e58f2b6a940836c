// Package loadgen owns the client side of a stream: connections, the
// arrival schedule, the reconnect state machine, metric recording into
// sharded histograms, and `tap`, the one-stream watcher.
package loadgen
