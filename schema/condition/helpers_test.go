package condition_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// testModel compiles testdata/bundle.json without a database.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	data, err := os.ReadFile("testdata/bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := model.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Prepare(nil, b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCompile(t testing.TB, m *model.Model, object, src string) *condition.Condition {
	t.Helper()
	c, err := condition.Compile(m, m.Object(object), []byte(src))
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return c
}

func problems(err error) model.Problems {
	var ps model.Problems
	errors.As(err, &ps)
	return ps
}
