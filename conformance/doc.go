// Package conformance owns `ssebench check` and `ssebench diagnose`: the
// catalogue of checks an event-stream endpoint should pass (each with a
// stable ID, a severity, the spec section or source behind it and a fix
// hint), the probes that gather evidence with real HTTP requests, the
// verdicts, the timeout diagnosis (which proxy or load balancer cut a
// stream, and whether heartbeats would have saved it) and the terminal
// table.
//
// Every probe is a real request built with sse.NewRequest and every byte of
// every stream is parsed by the one decoder, sse.Decoder. Beside decoding, a
// probe keeps the first CaptureBytes of the body and inspects them for the
// things a decoder hides on purpose (BOMs, line endings, invalid UTF-8,
// unknown fields, ids with NUL, id-only blocks). Everything is bounded in
// time and memory: a hostile server (an endless line, a huge event,
// headers sent a byte at a time) ends as a failed check, never a hang.
//
// The results are report.CheckReport values, rendered as JSON, JUnit, HTML
// (package report) or the terminal table (WriteTable).
//
// Run and Diagnose may be called concurrently: each call owns its probes,
// HTTP client and results. Config, DiagnoseConfig, Check and Timeout are
// plain values. TIMEOUTS.md lists the known proxy and load balancer
// timeouts the diagnosis matches.
package conformance
