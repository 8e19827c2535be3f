package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/migrations"
	"github.com/latticecrm/lattice/tenants"
)

// defaultDatabaseURL is where a developer's local PostgreSQL answers.
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/lattice"

// cliAuditActor is the audit log's actor of changes made with the CLI.
const cliAuditActor = "cli"

// app holds what every command shares: global flags and standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	databaseURL    string
	appDatabaseURL string
	logFormat      string
	logLevel       string
	output         string

	log *slog.Logger
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "lattice",
		Short: "Lattice: a multi-tenant low-code CRM platform",
		Long: `Lattice serves a multi-tenant CRM platform over HTTP and administers it from
the command line.

Every flag can also be set with an environment variable: LATTICE_ followed by
the flag name in upper case with '-' as '_' (--log-format is LATTICE_LOG_FORMAT).
A flag given on the command line wins over the environment. The database URL
is also read from DATABASE_URL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			if cmd.Name() != "serve" {
				// What administration commands change is recorded in
				// audit logs as done by "cli"; the server's own work is
				// "system" or the caller's.
				cmd.SetContext(audit.WithRequest(cmd.Context(), audit.Request{Actor: cliAuditActor}))
			}
			return a.setup()
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.databaseURL, "database-url", defaultDatabaseURL,
		"PostgreSQL URL of the database owner, used to create the database and migrate (also DATABASE_URL)")
	pf.StringVar(&a.appDatabaseURL, "app-database-url", "",
		"PostgreSQL URL the server connects with, as role lattice_app (default: --database-url with user lattice_app)")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVarP(&a.output, "output", "o", "table", "output of CLI commands: table or json")

	root.AddCommand(
		newServeCommand(a),
		newMigrateCommand(a),
		newTenantCommand(a),
		newUserCommand(a),
		newRoleCommand(a),
		newPolicyCommand(a),
		newTokenCommand(a),
		newSchemaCommand(a),
		newRecordsCommand(a),
		newScoringCommand(a),
		newTagsCommand(a),
		newAuditCommand(a),
		newVersionCommand(a),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{msg: err.Error() + "\nsee '" + c.CommandPath() + " --help'"}
	})
	documentEnv(root)
	return root
}

// envName is the environment variable that sets a flag.
func envName(flag string) string {
	return "LATTICE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// documentEnv appends each flag's environment variable to its help text.
func documentEnv(c *cobra.Command) {
	add := func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, "[env ") {
			return
		}
		f.Usage += " [env " + envName(f.Name) + "]"
	}
	c.LocalFlags().VisitAll(add)
	c.PersistentFlags().VisitAll(add)
	for _, sub := range c.Commands() {
		documentEnv(sub)
	}
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if set.
func applyEnv(cmd *cobra.Command) error {
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok && f.Name == "database-url" {
			v, ok = os.LookupEnv("DATABASE_URL")
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			firstErr = &usageError{msg: fmt.Sprintf("environment variable %s=%q: %v", envName(f.Name), v, err)}
		}
	})
	return firstErr
}

func (a *app) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return &usageError{msg: fmt.Sprintf("--log-level %q: want debug, info, warn or error", a.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return &usageError{msg: fmt.Sprintf("--log-format %q: want text or json", a.logFormat)}
	}
	if a.output != "table" && a.output != "json" {
		return &usageError{msg: fmt.Sprintf("--output %q: want table or json", a.output)}
	}
	if a.appDatabaseURL == "" {
		u, err := database.AppURL(a.databaseURL, migrations.AppRole)
		if err != nil {
			return &usageError{msg: "--database-url: " + err.Error()}
		}
		a.appDatabaseURL = u
	}
	return nil
}

// openApp connects as the application role and returns the pool and a
// tenants service on it; the caller closes the pool.
func (a *app) openApp(ctx context.Context, opts tenants.Options) (*pgxpool.Pool, *tenants.Service, error) {
	pool, err := database.Open(ctx, a.appDatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (has the database been migrated? run 'lattice migrate')", err)
	}
	opts.Logger = a.log
	svc, err := tenants.New(pool, opts)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, svc, nil
}

// withService runs fn with a tenants service, closing its pool afterwards.
func (a *app) withService(ctx context.Context, fn func(*tenants.Service) error) error {
	pool, svc, err := a.openApp(ctx, tenants.Options{})
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(svc)
}

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
