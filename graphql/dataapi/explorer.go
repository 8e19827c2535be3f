package dataapi

import (
	_ "embed"
	"net/http"
	"strings"
)

//go:embed explorer/graphiql.html
var explorerPage []byte

// Explorer serves GraphiQL, the in-browser GraphQL explorer, for a browser
// that GETs the endpoint without a query; everything else goes to next.
// The page holds no data: it calls the endpoint with the caller's token
// (kept in the browser) or session cookie, so it needs no authentication
// itself.
func Explorer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawQuery == "" && !strings.HasSuffix(r.URL.Path, ".graphql") &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(explorerPage)
			return
		}
		next.ServeHTTP(w, r)
	})
}
