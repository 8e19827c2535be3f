package dataapi

import "encoding/json"

// marshal encodes the response. A response without errors, the common
// case, is written around its data directly: the data is JSON PostgreSQL
// built (or Lattice did), valid by construction, so it needs compacting
// but not the validation encoding/json would spend on every byte.
func (r *Response) marshal() ([]byte, error) {
	if len(r.Errors) > 0 || r.Data == nil {
		return json.Marshal(r)
	}
	out := make([]byte, 0, len(r.Data)+10)
	out = append(out, `{"data":`...)
	out = compactJSON(out, r.Data)
	return append(out, '}'), nil
}

// compactJSON appends src, valid JSON, to dst without the whitespace
// between tokens (PostgreSQL's json_build_object writes `"k" : v`).
func compactJSON(dst, src []byte) []byte {
	inString, escaped := false, false
	start := 0 // src[start:i] is yet to be copied
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}
