package dataapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The explorer's page, its own script and style, and the vendored GraphiQL
// and React (explorer/assets, written by scripts/vendor-graphiql): the
// explorer needs nothing from the internet.
var (
	//go:embed explorer/graphiql.html
	explorerHTML string
	//go:embed explorer/explorer.js explorer/explorer.css explorer/assets
	explorerFiles embed.FS

	explorerPage = template.Must(template.New("graphiql.html").Parse(explorerHTML))
)

// explorerCSP is the page's Content-Security-Policy: scripts, styles and
// requests only to this server, no inline script. GraphiQL's dialogs insert
// a <style> element at run time (react-remove-scroll), hence 'unsafe-inline'
// styles, which run no code; its CSS carries its fonts as data: URLs, and the
// page's favicon is data:, (no request).
const explorerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// explorerAssetDir is the path segment, under the endpoint, of the
// explorer's assets: GET /graphql/explorer/<file>.
const explorerAssetDir = "/explorer/"

// Explorer serves GraphiQL, the in-browser GraphQL explorer, for a browser
// that GETs the endpoint without a query, and the page's scripts and styles
// at <endpoint>/explorer/<file>; everything else goes to next.
// The page and its assets hold no data: the page calls the endpoint with
// the caller's token (kept in the browser) or session cookie, so they need
// no authentication themselves.
func Explorer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if i := strings.LastIndex(r.URL.Path, explorerAssetDir); i >= 0 {
				if a := explorerAssets()[r.URL.Path[i+len(explorerAssetDir):]]; a != nil {
					a.serve(w, r)
					return
				}
			}
		}
		if r.Method == http.MethodGet && r.URL.RawQuery == "" && !strings.HasSuffix(r.URL.Path, ".graphql") &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			serveExplorerPage(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveExplorerPage renders the page with links relative to the request's
// path, so it works at whatever path a proxy publishes the endpoint:
// /graphql links ./graphql/explorer/..., /graphql/ links ./explorer/....
func serveExplorerPage(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	endpoint := "./"
	if !strings.HasSuffix(p, "/") {
		endpoint += p[strings.LastIndex(p, "/")+1:] + "/"
	}
	var b bytes.Buffer
	if err := explorerPage.Execute(&b, struct{ Endpoint, Assets string }{endpoint, endpoint + explorerAssetDir[1:]}); err != nil {
		http.Error(w, "the explorer page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", explorerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(b.Bytes())
}

// explorerAsset is one file of the explorer, ready to serve.
type explorerAsset struct {
	name         string
	contentType  string
	cacheControl string
	etag         string // strong, of the identity encoding
	body         []byte

	gzipOnce sync.Once
	gzipped  []byte // nil: sent as is
}

// explorerAssets maps a file name to its asset. It is built on first use,
// not at start-up: a CLI command never pays for it.
var explorerAssets = sync.OnceValue(func() map[string]*explorerAsset {
	assets := map[string]*explorerAsset{}
	err := fs.WalkDir(explorerFiles, "explorer", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := explorerFiles.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		a := &explorerAsset{name: name, body: body, cacheControl: "no-cache"}
		// Vendored files carry their version in their name, so they never
		// change under it; the explorer's own script and style (and
		// SHA256SUMS) do change with Lattice and are revalidated (their
		// ETag makes that a 304).
		if versionedName.MatchString(name) {
			a.cacheControl = "public, max-age=31536000, immutable"
		}
		switch ext := path.Ext(name); ext {
		case ".js":
			a.contentType = "text/javascript; charset=utf-8"
		case ".css":
			a.contentType = "text/css; charset=utf-8"
		case "", ".txt":
			a.contentType = "text/plain; charset=utf-8"
		default:
			a.contentType = mime.TypeByExtension(ext)
		}
		sum := sha256.Sum256(body)
		a.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
		assets[name] = a
		return nil
	})
	if err != nil {
		panic("dataapi: the embedded explorer assets: " + err.Error()) // embedded at build time: cannot happen
	}
	return assets
})

// versionedName matches a vendored file's name: graphiql-3.8.3.min.js.
var versionedName = regexp.MustCompile(`^[a-z-]+-[0-9]+\.[0-9]+\.[0-9]+\.`)

// minGzip is the size below which an asset is sent uncompressed.
const minGzip = 1024

func (a *explorerAsset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", a.cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := a.body, a.etag
	if len(a.body) >= minGzip {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			if gz := a.gzip(); gz != nil {
				body = gz
				// A strong ETag names one representation: the gzipped
				// bytes get their own.
				etag = strings.TrimSuffix(etag, `"`) + `-gzip"`
				h.Set("Content-Encoding", "gzip")
			}
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// gzip compresses the asset once, on the first request that accepts it;
// nil if that saves nothing.
func (a *explorerAsset) gzip() []byte {
	a.gzipOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level
		if _, err := zw.Write(a.body); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if b.Len() < len(a.body) {
			a.gzipped = b.Bytes()
		}
	})
	return a.gzipped
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if c := strings.TrimSpace(coding); !strings.EqualFold(c, "gzip") && !strings.EqualFold(c, "x-gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
