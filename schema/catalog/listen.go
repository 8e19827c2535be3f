package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// NotifyChannel is the PostgreSQL channel a schema change is announced on,
// with the payload "<tenant id>:<version>".
const NotifyChannel = "lattice_schema"

// Listen keeps this server's cache in step with schema changes made by
// other servers until ctx ends, reconnecting as needed. connURL is the
// app connection string.
func (c *Catalog) Listen(ctx context.Context, connURL string) error {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, connURL) },
		LogError: func(ctx context.Context, err error) {
			c.log.WarnContext(ctx, "schema change listener", "err", err)
		},
	}
	l.Handle(NotifyChannel, invalidator{c})
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// invalidator drops cached models on notifications, and drops them all
// whenever the listener (re)connects, since changes made while it was
// disconnected were not heard.
type invalidator struct{ c *Catalog }

func (h invalidator) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	tenantID, v, ok := strings.Cut(n.Payload, ":")
	version, err := strconv.Atoi(v)
	if !ok || err != nil {
		return fmt.Errorf("bad %s payload %q", NotifyChannel, n.Payload)
	}
	h.c.Invalidate(tenantID, version)
	return nil
}

func (h invalidator) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	h.c.cache.Purge()
	return nil
}
