package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/migrations"
)

func newMigrateCommand(a *app) *cobra.Command {
	var status, createDB bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (safe to run from several servers at once)",
		Long: `Apply the migrations embedded in this binary, in order, as the database owner
(--database-url). Applied versions are recorded in lattice_migrations; an
advisory lock makes concurrent runs wait for each other, so each migration is
applied once. The first migration creates the lattice_app role.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status {
				st, err := migrations.List(cmd.Context(), a.databaseURL)
				if err != nil {
					return err
				}
				return a.show(st, "VERSION\tNAME\tAPPLIED", func(add func(...any)) {
					for _, s := range st {
						add(s.Version, s.Name, s.Applied)
					}
				})
			}
			return a.migrate(cmd.Context(), createDB)
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "list migrations and whether each is applied, and change nothing")
	cmd.Flags().BoolVar(&createDB, "create-database", true, "create the database named in --database-url if it does not exist")
	return cmd
}

// migrate creates the database if asked and missing, then applies migrations.
func (a *app) migrate(ctx context.Context, createDB bool) error {
	if createDB {
		created, err := database.EnsureDatabase(ctx, a.databaseURL)
		if err != nil {
			return err
		}
		if created {
			a.log.Info("created database", "url", database.Redact(a.databaseURL))
		}
	}
	applied, err := migrations.Up(ctx, a.databaseURL, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", database.Redact(a.databaseURL), err)
	}
	for _, r := range applied {
		a.log.Info("applied migration", "version", r.Version, "name", r.Name)
	}
	if len(applied) == 0 {
		a.log.Info("database is up to date")
	}
	return nil
}
