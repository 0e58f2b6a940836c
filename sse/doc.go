// Package sse owns the text/event-stream format: the one WHATWG-exact
// decoder every other package uses, and an encoder for the fixture server.
package sse
