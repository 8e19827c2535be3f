package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

func newServeCommand(a *app) *cobra.Command {
	var (
		cfg           httpserver.Config
		autoMigrate   bool
		createDB      bool
		demo          bool
		secureCookies bool
		sessionTTL    time.Duration
		retention     time.Duration
		operatorToken string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server",
		Long: `Run the Lattice HTTP server until SIGINT or SIGTERM, then stop accepting
connections and let in-flight requests finish (up to --shutdown-timeout).

Before serving it creates the database if missing and applies pending
migrations, unless told not to. With --demo it also sets up a demo tenant and
prints its login and a fresh API token.

Endpoints: GET /healthz, GET /readyz, POST /v1/auth/login, POST /v1/auth/logout,
GET /v1/me, GET|POST /v1/tokens, DELETE /v1/tokens/{id}.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if autoMigrate {
				if err := a.migrate(ctx, createDB); err != nil {
					return err
				}
			}
			pool, svc, err := a.openApp(ctx, tenants.Options{SessionTTL: sessionTTL})
			if err != nil {
				return err
			}
			defer pool.Close()
			cat, err := catalog.New(pool, catalog.Options{Logger: a.log})
			if err != nil {
				return err
			}
			background(ctx, a.log, a.appDatabaseURL, pool, cat, svc, retention)
			var login demoLogin
			if demo {
				if login, err = seedDemo(ctx, svc, cat); err != nil {
					return err
				}
			}
			mux := http.NewServeMux()
			httpserver.HandleHealth(mux, a.log, pool.Ping)
			auth := authhttp.New(svc, a.log, secureCookies)
			auth.Register(mux)
			acc := access.New(pool, access.Options{Logger: a.log})
			go func() {
				if err := acc.Listen(ctx, a.appDatabaseURL); err != nil && ctx.Err() == nil {
					a.log.Error("permission change listener stopped", "err", err)
				}
			}()
			perms := permissions.New(acc, cat, svc, permissions.Options{Logger: a.log})
			mountDataAPI(mux, a.log, pool, cat, auth, perms)
			if err := mountPlatformAPI(ctx, mux, a.log, pool, cat, svc, auth, perms, operatorToken); err != nil {
				return err
			}
			srv := httpserver.New(cfg, mux, a.log)
			ln, err := srv.Listen()
			if err != nil {
				return err
			}
			base := baseURL(ln.Addr())
			a.log.Info("serving", "url", base)
			if demo {
				printDemo(a, base, login)
			}
			return srv.Serve(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", ":8080", "address to listen on")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", 1<<20, "largest accepted request body; larger ones get 413")
	f.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "time allowed to read request headers")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "time allowed to read a whole request")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", 60*time.Second, "time allowed to write a response")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", 120*time.Second, "how long idle keep-alive connections stay open")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may finish after SIGTERM")
	f.BoolVar(&autoMigrate, "auto-migrate", true, "apply pending migrations before serving")
	f.BoolVar(&createDB, "create-database", true, "create the database if missing (with --auto-migrate)")
	f.BoolVar(&demo, "demo", false, "set up the demo tenant and print its login and a fresh API token")
	f.BoolVar(&secureCookies, "secure-cookies", false, "mark session cookies Secure (set when served over HTTPS)")
	f.DurationVar(&sessionTTL, "session-ttl", 12*time.Hour, "lifetime of a login session")
	f.DurationVar(&retention, "retention", catalog.DefaultRetention, "how long removed fields and objects stay recoverable before they are purged")
	f.StringVar(&operatorToken, "operator-token", "", "bearer token of the operator, who alone manages tenants through /platform/graphql (at least 24 bytes; empty: none); prefer the env variable")
	return cmd
}

func baseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		port := 0
		if ok {
			port = tcp.Port
		}
		return fmt.Sprintf("http://localhost:%d", port)
	}
	return "http://" + tcp.String()
}

func printDemo(a *app, base string, l demoLogin) {
	fmt.Fprintf(a.stdout, `
Lattice is running at %[1]s

  tenant    %[2]s
  login     %[3]s
  password  %[4]s   (new on every start)
  API token %[5]s

Try it:
  curl %[1]s/healthz
  curl -H 'Authorization: Bearer %[5]s' %[1]s/v1/me
  curl -X POST -H 'Content-Type: application/json' %[1]s/v1/auth/login -d '{"tenant":"%[2]s","email":"%[3]s","password":"%[4]s"}'

Stop with Ctrl-C.
`, base, l.Tenant, l.Email, l.Password, l.Token)
}
