package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantco/platform/service/internal/tenant"
)

// translate turns *err into tenant.EUNAVAILABLE (503 with Retry-After) when
// it says PostgreSQL cannot be reached or is refusing work right now, keeping
// the driver error as the cause for the logs. Domain errors and every other
// error pass unchanged. Every exported service method defers it: with
// PostgreSQL down the API answered 500 internal while /readyz said 503.
func translate(err *error) {
	if *err == nil {
		return
	}
	var te *tenant.Error
	if errors.As(*err, &te) {
		return
	}
	if unavailable(*err) {
		*err = tenant.Unavailable("the database is unavailable; retry later", *err)
	}
}

func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || // connection exception
			strings.HasPrefix(pe.Code, "53") || // insufficient resources: too many connections, out of memory, disk full
			strings.HasPrefix(pe.Code, "57P") // shutting down, crashed, cannot connect now
	}
	// Network errors by type, not by the net.Error interface: syscall.Errno
	// implements that too, so a file error (a retention dump's EEXIST) would
	// pass for an outage.
	var ce *pgconn.ConnectError
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ce) || errors.As(err, &oe) || errors.As(err, &de) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded)
}
