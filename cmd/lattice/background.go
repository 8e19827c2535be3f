package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/tenants"
)

// background runs the server's periodic work until ctx ends: keeping the
// schema cache in step with other servers, running slot jobs, and purging
// removed fields and objects past their retention, rescoring records and
// decaying behaviour scores, recording data changes in the audit log and
// purging audit entries past each tenant's retention. Every server runs it;
// the jobs lock what they work on, so servers share the work safely.
func background(ctx context.Context, log *slog.Logger, appURL string, pool *pgxpool.Pool, cat *catalog.Catalog, svc *tenants.Service, retention time.Duration) {
	// Tag rules react to record writes through the outbox.
	if rules, err := tags.New(pool, cat, tags.Options{Logger: log}).RuleConsumer(outbox.Config{Logger: log}); err != nil {
		log.Error("tag rule consumer", "err", err)
	} else {
		go func() {
			if err := rules.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
				log.Error("tag rule consumer stopped", "err", err)
			}
		}()
	}
	// Scores follow record, tag and activity writes through the outbox.
	scorer := scoring.New(pool, cat, scoring.Options{Logger: log})
	if scores, err := scorer.Consumer(outbox.Config{Logger: log}); err != nil {
		log.Error("scoring consumer", "err", err)
	} else {
		go func() {
			if err := scores.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
				log.Error("scoring consumer stopped", "err", err)
			}
		}()
	}
	// The audit log records data changes from the outbox.
	auditLog := audit.New(pool, log)
	if changes, err := auditLog.Consumer(outbox.Config{Logger: log}); err != nil {
		log.Error("audit consumer", "err", err)
	} else {
		go func() {
			if err := changes.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
				log.Error("audit consumer stopped", "err", err)
			}
		}()
	}
	go func() {
		if err := cat.Listen(ctx, appURL); err != nil {
			log.Error("schema change listener stopped", "err", err)
		}
	}()
	go func() {
		jobs := time.NewTicker(10 * time.Second)
		purge := time.NewTicker(time.Hour)
		defer jobs.Stop()
		defer purge.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-jobs.C:
				if err := cat.RunAllJobs(ctx); err != nil && ctx.Err() == nil {
					log.Warn("slot jobs", "err", err)
				}
				if err := scorer.RunAllJobs(ctx); err != nil && ctx.Err() == nil {
					log.Warn("rescore jobs", "err", err)
				}
			case <-purge.C:
				if err := scorer.RunAllDecay(ctx); err != nil && ctx.Err() == nil {
					log.Warn("score decay", "err", err)
				}
				if n, err := auditLog.RunRetention(ctx); err != nil && ctx.Err() == nil {
					log.Warn("audit retention", "err", err, "deleted", n)
				}
				ts, err := svc.ListTenants(ctx, false)
				if err != nil {
					log.Warn("purge: list tenants", "err", err)
					continue
				}
				for _, t := range ts {
					purged, err := cat.Purge(ctx, t.ID, time.Now().Add(-retention), "system")
					if err != nil {
						log.Warn("purge", "tenant", t.Slug, "err", err)
					} else if len(purged) > 0 {
						log.Info("purged removed definitions", "tenant", t.Slug, "count", len(purged))
					}
				}
			}
		}
	}()
}
