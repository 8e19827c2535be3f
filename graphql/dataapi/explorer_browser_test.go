package dataapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium finds the browser of TestExplorerInBrowser. Without one the test
// fails in CI (CI set) and is skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "the explorer's browser test needs Chromium at /usr/bin/chromium: apt-get install -y chromium"
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal(msg + " (.ci/run installs it)")
	}
	t.Skip(msg)
	return ""
}

// The explorer works in a real browser with no internet: the page loads
// GraphiQL and React from this server under its CSP, the token bar stores
// the token and the page sends it as a bearer token, and a query run with
// GraphiQL's execute button shows records from the database.
func TestExplorerInBrowser(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	start := time.Now()

	e := newEnv(t, Options{})
	c := e.tenant(t, "web")
	name := "Explorer Probe " + randomHex(t, 4)
	e.ok(t, c, `mutation($n: String!) { createAccount(input: {name: $n}) { id } }`, map[string]any{"n": name})
	token := "lat_browser_" + randomHex(t, 16)
	caller := func(r *http.Request) (Caller, bool) {
		return c, r.Header.Get("Authorization") == "Bearer "+token
	}

	// The server records what the browser asks for.
	var mu sync.Mutex
	var requests []string
	handler := Explorer(e.api.Handler(caller))
	mux := http.NewServeMux()
	mux.Handle("/graphql", handler)
	mux.Handle("/graphql/", handler)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		mu.Lock()
		requests = append(requests, fmt.Sprintf("%s %s %d %s", r.Method, r.URL.Path, rec.status, rec.Header().Get("Content-Encoding")))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	// Headless Chromium, offline: no host name resolves, so only the test
	// server (an IP address) can be reached.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in containers; the page is ours
		chromedp.DisableGPU,
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()

	var console []string
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String()+" "+m.URL)
			mu.Unlock()
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf(format+"\nrequests:\n  %s\nconsole:\n  %s", append(args, strings.Join(requests, "\n  "), strings.Join(console, "\n  "))...)
	}

	// Each page load records its CSP violations, checked at the end (the
	// browser also logs them to the console, which is checked too).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener("securitypolicyviolation",
			(e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`,
	}); err != nil {
		fail("browser: %v", err)
	}

	// Open the explorer and set the token through the token bar: the page
	// reloads with it.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/graphql"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
	); err != nil {
		fail("open the explorer: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("save"))); err != nil {
		fail("save the token: %v", err)
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem("lattice.graphql.token") || ""`))
	if err != nil || stored != token {
		fail("the token bar stored %q (%v)", stored, err)
	}

	// GraphiQL renders: its scripts and styles came from this server.
	// (explorer.js says so at once when the scripts did not load.)
	rendered, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(typeof window.GraphiQL === "function" && document.querySelector(".graphiql-query-editor .CodeMirror") && "rendered") ||
		(document.getElementById("graphiql").innerText.startsWith("GraphiQL could not be loaded") && "not loaded")`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || rendered != "rendered" {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof window.GraphiQL + ": " + document.getElementById("graphiql").innerText.slice(0, 300)`))
		fail("GraphiQL did not render (%v): window.GraphiQL is %s", err, text)
	}
	styled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`[...document.styleSheets].some((s) => s.href && s.href.includes("/graphql/explorer/graphiql-") && s.cssRules.length > 100)`))
	if err != nil || !styled {
		fail("GraphiQL's stylesheet did not load (%v)", err)
	}

	// Type a query into the editor and run it with the execute button.
	query := "{ accounts(first: 10, orderBy: {name: ASC}) { nodes { name } } }"
	q, _ := json.Marshal(query)
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(`+string(q)+`)`),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
	); err != nil {
		fail("run the query: %v", err)
	}
	want, _ := json.Marshal(name)
	shown, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(() => { const t = document.querySelector(".graphiql-response")?.innerText || ""; return t.includes(`+string(want)+`) && t; })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".graphiql-response")?.innerText || "(no result pane)"`))
		fail("the result pane does not show %q (%v):\n%s", name, err, text)
	}
	if !strings.Contains(shown, `"accounts"`) || strings.Contains(shown, `"errors"`) {
		fail("the result pane shows:\n%s", shown)
	}

	// A dialog inserts a <style> element (react-remove-scroll): what the
	// CSP's 'unsafe-inline' styles are for.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[aria-label="Open settings dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-dialog`)),
	); err != nil {
		fail("open the settings dialog: %v", err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	if err != nil || len(violations) > 0 {
		fail("CSP violations (%v): %v", err, violations)
	}

	cancelTab()
	cancelAlloc()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		"GET /graphql/explorer/graphiql-3.8.3.min.js 200 gzip",
		"GET /graphql/explorer/graphiql-3.8.3.min.css 200 gzip",
		"GET /graphql/explorer/react-18.3.1.production.min.js 200 gzip",
		"GET /graphql/explorer/react-dom-18.3.1.production.min.js 200 gzip",
		"GET /graphql/explorer/explorer.js 200 gzip",
		"GET /graphql/explorer/explorer.css 200 ",
		"POST /graphql 200 ",
	} {
		if !slices.Contains(requests, want) {
			t.Errorf("the browser did not get %q; requests:\n  %s", want, strings.Join(requests, "\n  "))
		}
	}
	for _, r := range requests {
		if !strings.Contains(r, " 200 ") && !strings.Contains(r, " 304 ") && !strings.HasPrefix(r, "POST /graphql 401") {
			t.Errorf("request %s", r)
		}
	}
	for _, m := range console {
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") {
			if !strings.Contains(m, "401") { // GraphiQL's introspection before the token was set
				t.Errorf("console: %s", m)
			}
		}
	}
	t.Logf("explorer in %s: %d requests, %s", browser, len(requests), time.Since(start).Round(time.Millisecond))
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
