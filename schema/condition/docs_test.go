package condition

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// docRows are the rows of the operator table in docs/conditions.md.
var docRows = []struct {
	what string
	cls  class
}{
	{"text, longText, email, phone, url, autoNumber; `grade`; `currencyField.currency`", clsText},
	{"picklist", clsPicklist},
	{"multiPicklist", clsMulti},
	{"integer, decimal, percent, currency (its amount), `currencyField.amount`; `score`, `version`", clsNumber},
	{"boolean", clsBool},
	{"date", clsDate},
	{"datetime; `createdAt`, `updatedAt`", clsDatetime},
	{"lookup; `id`", clsID},
	{"`owner`", clsOwner},
	{"json", clsJSON},
}

var docOps = []op{opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opContains, opStartsWith, opIsNull, opWithinLast}

func operatorTable() string {
	var b strings.Builder
	b.WriteString("| kind |")
	for _, o := range docOps {
		b.WriteString(" " + o.String() + " |")
	}
	b.WriteString("\n| --- |")
	for range docOps {
		b.WriteString(" :-: |")
	}
	b.WriteString("\n")
	for _, r := range docRows {
		b.WriteString("| " + r.what + " |")
		for _, o := range docOps {
			if r.cls.allows(o) {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("  |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The operator table in docs/conditions.md is the one the compiler uses.
func TestDocsOperatorTable(t *testing.T) {
	if clsDatetime.opList() != clsInstant.opList() {
		t.Fatal("datetime fields and createdAt/updatedAt share a row; give them two")
	}
	doc, err := os.ReadFile("../../docs/conditions.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := operatorTable(); !strings.Contains(string(doc), want) {
		t.Errorf("docs/conditions.md lacks the operator table; paste:\n%s", want)
	}
}

// The JSON examples of docs/conditions.md compile (or fail as the page
// says) on the CRM template.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/conditions.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../templates/crm.json")
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
	p, err := model.Prepare(nil, b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile("<!-- (compiles|problems) on (\\w+) of the CRM template -->\n```json\n((?s:.*?))```")
	found := marker.FindAllStringSubmatch(string(doc), -1)
	if len(found) != 2 {
		t.Fatalf("found %d marked examples, want 2", len(found))
	}
	for _, f := range found {
		_, err := Compile(m, m.Object(f[2]), []byte(f[3]))
		if f[1] == "compiles" && err != nil {
			t.Errorf("example does not compile on %s: %v\n%s", f[2], err, f[3])
		}
		if f[1] == "problems" {
			var got []string
			for _, p := range err.(model.Problems) {
				got = append(got, "`"+p.Pointer+" "+p.Code+"`")
			}
			if want := strings.Join(got, ", "); !strings.Contains(strings.ReplaceAll(string(doc), "\n", " "), want) {
				t.Errorf("the page should list the example's problems: %s", want)
			}
		}
	}
}
