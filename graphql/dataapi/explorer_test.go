package dataapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

// explorerServer is the Explorer in front of a handler that answers 418,
// mounted as the server mounts the data API.
func explorerServer(t *testing.T) *httptest.Server {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux := http.NewServeMux()
	mux.Handle("/graphql", Explorer(next))
	mux.Handle("/graphql/", Explorer(next))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func explorerGet(t *testing.T, srv *httptest.Server, method, target string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A Transport that does not ask for gzip itself, so the test sees what
	// the server sends.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// Every asset is served with its type, a strong ETag, its cache policy,
// gzipped when asked, and 304 when unchanged; other requests pass through.
func TestExplorerAssets(t *testing.T) {
	t.Parallel()
	srv := explorerServer(t)
	names := map[string]string{ // the files the page needs, and their type
		"graphiql-3.8.3.min.js":              "text/javascript; charset=utf-8",
		"graphiql-3.8.3.min.css":             "text/css; charset=utf-8",
		"react-18.3.1.production.min.js":     "text/javascript; charset=utf-8",
		"react-dom-18.3.1.production.min.js": "text/javascript; charset=utf-8",
		"explorer.js":                        "text/javascript; charset=utf-8",
		"explorer.css":                       "text/css; charset=utf-8",
		"graphiql-3.8.3.LICENSE.txt":         "text/plain; charset=utf-8",
		"react-18.3.1.LICENSE.txt":           "text/plain; charset=utf-8",
		"react-dom-18.3.1.LICENSE.txt":       "text/plain; charset=utf-8",
	}
	for name, ct := range names {
		want, err := fs.ReadFile(explorerFiles, embeddedPath(name))
		if err != nil {
			t.Fatal(err)
		}
		target := "/graphql/explorer/" + name
		res, body := explorerGet(t, srv, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusOK || !bytes.Equal(body, want) || res.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: %d, %d bytes (want %d), encoding %q", name, res.StatusCode, len(body), len(want), res.Header.Get("Content-Encoding"))
		}
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", name, got, ct)
		}
		etag := res.Header.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Errorf("%s: ETag %q is not strong", name, etag)
		}
		cc := res.Header.Get("Cache-Control")
		if vendored := strings.Contains(name, "-"); vendored != strings.Contains(cc, "immutable") || vendored == (cc == "no-cache") {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", name)
		}

		res, body = explorerGet(t, srv, http.MethodGet, target, map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%s unchanged: %d, %d bytes", name, res.StatusCode, len(body))
		}
		res, body = explorerGet(t, srv, http.MethodHead, target, nil)
		if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("ETag") != etag {
			t.Errorf("%s HEAD: %d, %d bytes", name, res.StatusCode, len(body))
		}

		res, body = explorerGet(t, srv, http.MethodGet, target, map[string]string{"Accept-Encoding": "br;q=1.0, gzip;q=0.8, *;q=0.1"})
		if len(want) < minGzip {
			if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, want) {
				t.Errorf("%s (%d bytes) was compressed", name, len(want))
			}
			continue
		}
		if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: not gzipped: %v", name, res.Header)
		}
		gzTag := res.Header.Get("ETag")
		if gzTag == etag || !strings.HasPrefix(gzTag, `"`) {
			t.Errorf("%s: gzipped ETag %q (identity %q)", name, gzTag, etag)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, want) {
			t.Fatalf("%s: gunzipped body differs (%v)", name, err)
		}
		t.Logf("%-36s %9d bytes, %8d gzipped", name, len(want), len(body))
		res, _ = explorerGet(t, srv, http.MethodGet, target, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gzTag})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s gzipped, unchanged: %d", name, res.StatusCode)
		}
	}

	// Not an asset, or not a read: the data API's business.
	for _, c := range []struct{ method, target string }{
		{http.MethodGet, "/graphql/explorer/nope.js"},
		{http.MethodGet, "/graphql/explorer/"},
		{http.MethodGet, "/graphql/explorer/assets/graphiql-3.8.3.min.js"},
		{http.MethodGet, "/graphql/explorer/explorer.go"},
		{http.MethodGet, "/graphql/explorer/SHA256SUMS/x"},
		{http.MethodPost, "/graphql/explorer/explorer.js"},
		{http.MethodGet, "/graphql/schema.graphql"},
		{http.MethodGet, "/graphql?query=%7B__typename%7D"},
	} {
		if res, _ := explorerGet(t, srv, c.method, c.target, map[string]string{"Accept": "application/json"}); res.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s: %d, want the data API's answer", c.method, c.target, res.StatusCode)
		}
	}
}

// embeddedPath is where the asset name is in explorerFiles.
func embeddedPath(name string) string {
	if name == "explorer.js" || name == "explorer.css" {
		return "explorer/" + name
	}
	return "explorer/assets/" + name
}

// The vendored files are those scripts/vendor-graphiql wrote: SHA256SUMS
// lists every one with its digest.
func TestExplorerVendoredChecksums(t *testing.T) {
	t.Parallel()
	sums, err := fs.ReadFile(explorerFiles, "explorer/assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		b, err := fs.ReadFile(explorerFiles, "explorer/assets/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s differs from what scripts/vendor-graphiql wrote", name)
		}
		listed[name] = true
	}
	entries, err := fs.ReadDir(explorerFiles, "explorer/assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "SHA256SUMS" && !listed[e.Name()] {
			t.Errorf("%s is not in SHA256SUMS", e.Name())
		}
	}
	if len(listed) < 7 {
		t.Errorf("SHA256SUMS lists %d files", len(listed))
	}
}

var pageRef = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

// The page loads only this server's files, each of which is served, at
// /graphql and /graphql/ alike, under a CSP that allows nothing else.
func TestExplorerPage(t *testing.T) {
	t.Parallel()
	srv := explorerServer(t)
	for _, endpoint := range []string{"/graphql", "/graphql/"} {
		res, body := explorerGet(t, srv, http.MethodGet, endpoint, map[string]string{"Accept": "text/html,application/xhtml+xml"})
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", endpoint, res.StatusCode, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", endpoint, csp, d)
			}
		}
		if bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte("<style")) || bytes.Contains(body, []byte("unpkg")) {
			t.Errorf("%s: the page has inline script or style, or names unpkg:\n%s", endpoint, body)
		}
		base, err := url.Parse(srv.URL + endpoint)
		if err != nil {
			t.Fatal(err)
		}
		refs := pageRef.FindAllSubmatch(body, -1)
		scripts := 0
		links := 0
		for _, m := range refs {
			if string(m[1]) == "data:," { // no favicon request
				continue
			}
			links++
			ref, err := url.Parse(string(m[1]))
			if err != nil || ref.IsAbs() || ref.Host != "" {
				t.Errorf("%s: the page links %q", endpoint, m[1])
				continue
			}
			u := base.ResolveReference(ref)
			if path.Base(u.Path) == "schema.graphql" {
				if u.Path != "/graphql/schema.graphql" {
					t.Errorf("%s: the SDL link resolves to %s", endpoint, u.Path)
				}
				continue
			}
			if strings.HasSuffix(u.Path, ".js") {
				scripts++
			}
			res, _ := explorerGet(t, srv, http.MethodGet, u.RequestURI(), nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: the page's %q (%s) answers %d", endpoint, m[1], u.Path, res.StatusCode)
			}
		}
		if scripts != 4 || links != 7 {
			t.Errorf("%s: the page links %d files, %d scripts:\n%s", endpoint, links, scripts, body)
		}
	}
	// A path segment cannot become a URL scheme or break out of the link.
	res, body := explorerGet(t, srv, http.MethodGet, `/graphql/javascript:alert(1)"x`, map[string]string{"Accept": "text/html"})
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`src="./javascript:alert%281%29%22x/explorer/explorer.js"`)) {
		t.Errorf("odd path: %d\n%s", res.StatusCode, body)
	}
}

func TestExplorerAcceptsGzip(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"gzip, deflate, br, zstd":  true,
		"br;q=1.0, GZIP;q=0.5":     true,
		"x-gzip":                   true,
		"gzip;q=0":                 false,
		"gzip; q=0.000, identity":  false,
		"identity, *;q=0":          false,
		"deflate, br":              false,
		"gzipped":                  false,
		"br, gzip ; q = 0.1 , foo": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}
