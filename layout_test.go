package lattice

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/latticecrm/lattice"

// layers lists the top-level folders from the bottom up, as in
// ARCHITECTURE.md: a folder may import only folders in earlier layers (and
// itself). Folders in the same layer may not import each other.
var layers = [][]string{
	{"platform"},
	{"tenants"},
	{"schema"},
	{"graphql", "plugins", "admin"},
	{"cmd"},
}

// isolated packages import nothing of ours but each other, so a partner's
// plugin never pulls in the server.
var isolated = []string{"plugins/sdk", "plugins/protocol"}

func folder(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	top, _, _ := strings.Cut(rel, "/")
	return top
}

func layerOf(top string) int {
	for i, l := range layers {
		for _, f := range l {
			if f == top {
				return i
			}
		}
	}
	return -1
}

type listedPackage struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := folder(p.ImportPath)
		if p.ImportPath == module {
			continue // the root holds only this test
		}
		fromLayer := layerOf(from)
		if fromLayer < 0 {
			t.Errorf("package %s is in folder %q, which ARCHITECTURE.md's layout does not have", p.ImportPath, from)
			continue
		}
		imports := append(append(p.Imports, p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			checked++
			to := folder(imp)
			if to == from {
				continue
			}
			if toLayer := layerOf(to); toLayer >= fromLayer {
				t.Errorf("%s imports %s: %s may not import %s (imports point down the layers of ARCHITECTURE.md)", p.ImportPath, imp, from, to)
			}
		}
		for _, iso := range isolated {
			if p.ImportPath != module+"/"+iso && !strings.HasPrefix(p.ImportPath, module+"/"+iso+"/") {
				continue
			}
			for _, imp := range imports {
				if !strings.HasPrefix(imp, module+"/") {
					continue
				}
				ok := false
				for _, other := range isolated {
					ok = ok || strings.HasPrefix(imp, module+"/"+other)
				}
				if !ok {
					t.Errorf("%s imports %s: the partner SDK and protocol import only each other", p.ImportPath, imp)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no internal imports checked; is go list working?")
	}
}

func TestLayerRules(t *testing.T) {
	// The checker itself: a wrong arrow must be caught.
	if layerOf("platform") >= layerOf("tenants") || layerOf("schema") >= layerOf("graphql") || layerOf("graphql") >= layerOf("cmd") {
		t.Fatal("layers out of order")
	}
	if layerOf("graphql") != layerOf("plugins") {
		t.Fatal("graphql and plugins must share a layer")
	}
	if layerOf("utils") != -1 {
		t.Fatal("unknown folders must not have a layer")
	}
}
