package sse

import (
	"bufio"
	"encoding/json"
	"io"
)

// Record is one line of the NDJSON form of a stream, as `ssebench decode`
// writes it. Its shape is a public interface: fields are only ever added.
//
//	{"kind":"event","type":"<type>","data":"<data>","id":"<last event ID>"}
//	{"kind":"retry","ms":<integer>}
//	{"kind":"comment","text":"<text without the colon>"}
type Record struct {
	Kind string  `json:"kind"`
	Type *string `json:"type,omitempty"`
	Data *string `json:"data,omitempty"`
	ID   *string `json:"id,omitempty"`
	MS   *int64  `json:"ms,omitempty"`
	Text *string `json:"text,omitempty"`
}

// CurrentRecord is the decoder's current item as a Record.
func (d *Decoder) CurrentRecord() Record {
	switch d.kind {
	case KindEvent:
		ev := d.Event()
		return Record{Kind: "event", Type: &ev.Type, Data: &ev.Data, ID: &ev.ID}
	case KindRetry:
		ms := d.retry
		return Record{Kind: "retry", MS: &ms}
	case KindComment:
		text := d.Comment()
		return Record{Kind: "comment", Text: &text}
	}
	return Record{}
}

// WriteNDJSON decodes the stream in r and writes one JSON object per item to
// w, flushing after each so a live stream shows as it arrives. It returns
// the decoder's error (nil on a clean end; io.ErrUnexpectedEOF when the
// stream ended inside an event, which is dropped as a browser drops it).
func WriteNDJSON(w io.Writer, r io.Reader, cfg Config) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	dec := NewDecoder(r, cfg)
	for dec.Next() {
		if err := enc.Encode(dec.CurrentRecord()); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return dec.Err()
}
