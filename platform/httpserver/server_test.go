package httpserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/httpserver"
)

// signalHandler forwards to a JSON handler and closes a channel the first
// time a record with the given message is logged.
type signalHandler struct {
	slog.Handler
	msg    string
	signal chan struct{}
}

func (h *signalHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message == h.msg {
		select {
		case <-h.signal:
		default:
			close(h.signal)
		}
	}
	return err
}

func (h *signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &signalHandler{Handler: h.Handler.WithAttrs(as), msg: h.msg, signal: h.signal}
}

func (h *signalHandler) WithGroup(name string) slog.Handler {
	return &signalHandler{Handler: h.Handler.WithGroup(name), msg: h.msg, signal: h.signal}
}

const shutdownMsg = "shutting down; waiting for in-flight requests"

func TestServeGracefulShutdown(t *testing.T) {
	logs := &lockedBuffer{}
	shuttingDown := make(chan struct{})
	logger := slog.New(&signalHandler{Handler: slog.NewJSONHandler(logs, nil), msg: shutdownMsg, signal: shuttingDown})

	started := make(chan struct{})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	srv := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0"}, mux, logger)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, ln) }()
	releaseOnce := func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}
	defer releaseOnce()

	type result struct {
		status int
		body   string
		reqID  string
		err    error
	}
	inflight := make(chan result, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	go func() {
		resp, err := client.Get("http://" + addr + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{status: resp.StatusCode, body: string(b), reqID: resp.Header.Get("X-Request-ID"), err: err}
	}()

	select {
	case <-started:
	case err := <-serveErr:
		t.Fatalf("Serve returned before the request arrived: %v", err)
	case r := <-inflight:
		t.Fatalf("request finished before the handler started: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("handler never started")
	}

	cancel()
	select {
	case <-shuttingDown:
	case err := <-serveErr:
		t.Fatalf("Serve returned %v without waiting for the in-flight request", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not start shutting down after its context was cancelled")
	}

	// Shutdown closes the listener first; wait (bounded) until new
	// connections are refused while the request is still in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting 5s after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-serveErr:
		t.Fatalf("Serve returned %v while a request was still in flight", err)
	case r := <-inflight:
		t.Fatalf("in-flight request ended before it was released: %+v", r)
	default:
	}

	releaseOnce()
	select {
	case r := <-inflight:
		if r.err != nil {
			t.Fatalf("in-flight request failed: %v", r.err)
		}
		if r.status != http.StatusOK || r.body != "finished" {
			t.Errorf("in-flight request got %d %q, want 200 \"finished\"", r.status, r.body)
		}
		if r.reqID == "" {
			t.Errorf("response has no X-Request-ID: New must wrap the handler")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never completed")
	}
	select {
	case err := <-serveErr:
		if err != nil {
			t.Fatalf("Serve returned %v after a clean shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last request finished")
	}

	if _, err := client.Get("http://" + addr + "/slow"); err == nil {
		t.Fatal("a request after shutdown succeeded; want the connection refused")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a TCP connection after shutdown succeeded")
	}
	if !strings.Contains(logs.String(), "shut down cleanly") {
		t.Errorf("no clean shutdown logged:\n%s", logs.String())
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	logger, _ := newLogger()
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	srv := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 50 * time.Millisecond}, h, logger)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never started")
	}
	cancel()
	select {
	case err := <-serveErr:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve = %v, want a graceful shutdown error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
}

func TestServeReturnsListenerError(t *testing.T) {
	logger, _ := newLogger()
	srv := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0"}, http.NotFoundHandler(), logger)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve on a closed listener returned nil")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve on a closed listener did not return")
	}
}

func TestListenAddressInUse(t *testing.T) {
	logger, _ := newLogger()
	first := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0"}, http.NotFoundHandler(), logger)
	ln, err := first.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	second := httpserver.New(httpserver.Config{Addr: ln.Addr().String()}, http.NotFoundHandler(), logger)
	if ln2, err := second.Listen(); err == nil {
		ln2.Close()
		t.Fatalf("second Listen on %s succeeded", ln.Addr())
	} else if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("Listen error %q does not name the address", err)
	}
}

func TestNewAppliesDefaultBodyLimit(t *testing.T) {
	logger, _ := newLogger()
	var ran atomic.Bool
	srv := httpserver.New(httpserver.Config{Addr: "127.0.0.1:0"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Store(true)
	}), logger)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-serveErr; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	post := func(n int) int {
		resp, err := http.Post("http://"+ln.Addr().String()+"/", "application/octet-stream", strings.NewReader(strings.Repeat("a", n)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(1<<20 + 1); code != http.StatusRequestEntityTooLarge || ran.Load() {
		t.Errorf("1 MiB + 1 body: status %d, handler ran %v; want 413 without running", code, ran.Load())
	}
	if code := post(1 << 20); code != http.StatusOK || !ran.Load() {
		t.Errorf("1 MiB body: status %d, handler ran %v; want 200", code, ran.Load())
	}
}
