package model

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// benchBundle builds objects x fields, cycling through the common kinds,
// with a lookup to the previous object.
func benchBundle(objects, fields int) *Bundle {
	b := &Bundle{Format: BundleFormat}
	kindsCycle := []FieldMeta{
		{Kind: KindText}, {Kind: KindInteger}, {Kind: KindDecimal}, {Kind: KindEmail}, {Kind: KindDate},
		{Kind: KindDateTime}, {Kind: KindBoolean}, {Kind: KindURL}, {Kind: KindPhone},
		{Kind: KindPicklist, Values: []PicklistValue{{Value: "a"}, {Value: "b"}, {Value: "c"}}},
	}
	for i := range objects {
		o := &ObjectDef{Meta: ObjectMeta{APIName: fmt.Sprintf("Obj%d", i), Label: Text{"en": "Object"}}}
		for j := range fields {
			meta := kindsCycle[j%len(kindsCycle)]
			if j == 0 && i > 0 {
				meta = FieldMeta{Kind: KindLookup, Target: fmt.Sprintf("Obj%d", i-1), InverseName: fmt.Sprintf("children%d", i)}
			}
			if j < 3 && meta.Kind != KindLookup {
				meta.Indexed = true
			}
			meta.Label = Text{"en": "Field", "zh-CN": "字段"}
			o.Properties = append(o.Properties, Property{Name: fmt.Sprintf("f%d", j), Schema: &FieldDef{Meta: meta, Keywords: map[string]json.RawMessage{}}})
		}
		b.Objects = append(b.Objects, o)
	}
	return b
}

// BenchmarkCompile50x50 compiles a prepared schema of 50 objects x 50
// fields (target: under 50 ms).
func BenchmarkCompile50x50(b *testing.B) {
	p, err := Prepare(nil, benchBundle(50, 50), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compile(p, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare50x50 validates and prepares the same schema, as a
// schema change does before compiling.
func BenchmarkPrepare50x50(b *testing.B) {
	in := benchBundle(50, 50)
	for b.Loop() {
		if _, err := Prepare(nil, in, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate20Fields validates a 20-field record (target: at least
// 30,000 per second per core).
func BenchmarkValidate20Fields(b *testing.B) {
	p, err := Prepare(nil, benchBundle(2, 20), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	m, err := Compile(p, 1)
	if err != nil {
		b.Fatal(err)
	}
	o := m.Object("Obj1")
	raw := []byte(`{"f0":"7d3e1a2b-1111-4222-8333-444455556666","f1":42,"f2":"12.50","f3":"ann@example.com","f4":"2026-11-23",
		"f5":"2026-11-23T10:00:00Z","f6":true,"f7":"https://example.com/x","f8":"+1 555 0100","f9":"b",
		"f10":"hello world","f11":7,"f12":1.25,"f13":"bob@example.com","f14":"2020-01-01",
		"f15":"2021-05-06T07:08:09+02:00","f16":false,"f17":"http://example.org","f18":"(555) 123-4567","f19":"c"}`)
	v, err := DecodeJSON(raw)
	if err != nil {
		b.Fatal(err)
	}
	in := v.(map[string]any)
	in["f2"] = json.Number("12.50")
	b.ReportAllocs()
	for b.Loop() {
		if _, vs := o.ValidateCreate(in); len(vs) > 0 {
			b.Fatal(vs)
		}
	}
}
