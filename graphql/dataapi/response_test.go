package dataapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCompactJSONMatchesEncodingJSON(t *testing.T) {
	for _, src := range []string{
		`{"a" : 1, "b" : [1, 2, {"c" : "x y"}]}`,
		`{"s" : "a \" quoted \\ \"string\" with  spaces\n", "t" : "\\"}`,
		"{\n\t\"a\" :\r\n null , \"b\":true}",
		`"  just a string  "`,
		`[ ]`,
		`{"emoji" : "é ☃ 😀", "esc" : "\u00e9\t"}`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(src)); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := compactJSON(nil, []byte(src)); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("compactJSON(%s) = %s, want %s", src, got, want.Bytes())
		}
	}
}

func TestResponseMarshalMatchesEncodingJSON(t *testing.T) {
	for _, r := range []*Response{
		{Data: json.RawMessage(`{"account" : {"id" : "1", "name" : "A  B"}}`)},
		{Data: json.RawMessage(`null`)},
		{},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("marshal = %s, want %s", got, want)
		}
	}
}
