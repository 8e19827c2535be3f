// Package outbox is Lattice's transactional outbox: writes append events in
// their own transaction, and consumers receive each tenant's events in
// commit order, at least once, with retries, backoff and dead letters.
//
// Writing. Call Append inside the write's tenant-scoped transaction, as its
// last statement:
//
//	err := database.InTenantTx(ctx, pool, tenantID, func(tx pgx.Tx) error {
//		// ... the write itself ...
//		_, err := outbox.Append(ctx, tx, tenantID, "record.updated", change)
//		return err
//	})
//
// The event commits or rolls back with the write: no committed write misses
// its event and no rolled-back write has one. Append takes the next number
// of the tenant's sequence and holds that tenant's sequence row locked until
// the transaction ends, so within a tenant, seq order is commit order and a
// rollback leaves no gap. Other writers of the same tenant wait at their own
// Append while the lock is held; hence "last statement".
//
// Consuming. A Consumer has a name; PostgreSQL keeps one cursor per tenant
// and consumer name. RunOnce finds tenants with events after the cursor,
// and for each one, under a row lock on its cursor (skipped, not waited for,
// if another process with the same name holds it), hands up to BatchSize
// events to the Handler in seq order and advances the cursor past each one
// the handler accepts:
//
//	c, err := outbox.NewConsumer(pool, outbox.Config{Name: "webhooks"}, handle)
//	go c.Run(ctx, time.Second)
//
// A handler error stops that tenant's stream (later events wait, so order
// holds), counts an attempt and schedules the next after Config.Backoff. At
// Config.MaxAttempts the event moves to the dead letters (see DeadLetters
// and Consumer.Replay) and the stream goes on. Progress is committed when
// the batch ends, also when the handler fails or the context is cancelled,
// so a new Consumer with the same name resumes after the last event
// accepted. After a hard crash the uncommitted part of a batch is delivered
// again: handlers must be idempotent, and can key on (TenantID, Seq) or ID.
//
// Reading. Events lists a tenant's stream for tools and debugging.
//
// docs/outbox.md explains the design and its trade-offs.
package outbox
