package access

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// Listen keeps this server's cache in step with changes other servers
// make, until ctx ends, reconnecting as needed (pgxlisten). connURL is the
// app connection string. Each notification on NotifyChannel drops the
// named tenant's enforcer; each (re)connection drops them all, since
// changes made while it was disconnected were not heard. It returns nil
// when ctx ends.
func (s *Service) Listen(ctx context.Context, connURL string) error {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, connURL) },
		LogError: func(ctx context.Context, err error) {
			s.log.WarnContext(ctx, "access rule listener", "err", err)
		},
		ReconnectDelay: reconnectDelay,
	}
	l.Handle(NotifyChannel, invalidator{s})
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type invalidator struct{ s *Service }

func (h invalidator) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	h.s.Invalidate(n.Payload)
	return nil
}

func (h invalidator) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.s.cache.Purge()
	return nil
}
