package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantco/platform/service/internal/tenant"
)

func TestTranslate(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, tenant.EUNAVAILABLE},
		{fmt.Errorf("onboard: %w", pgconn.ErrConnClosed), tenant.EUNAVAILABLE},
		{&pgconn.PgError{Code: "57P01"}, tenant.EUNAVAILABLE}, // admin_shutdown
		{&pgconn.PgError{Code: "53300"}, tenant.EUNAVAILABLE}, // too_many_connections
		{&pgconn.PgError{Code: "08006"}, tenant.EUNAVAILABLE}, // connection_failure
		{fmt.Errorf("x: %w", context.DeadlineExceeded), tenant.EUNAVAILABLE},
		// not outages
		{&pgconn.PgError{Code: "3F000"}, tenant.EINTERNAL}, // schema does not exist
		{&pgconn.PgError{Code: "57014"}, tenant.EINTERNAL}, // query_canceled
		{fmt.Errorf("dump: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EEXIST}), tenant.EINTERNAL},
		{fmt.Errorf("dump: %w", os.ErrPermission), tenant.EINTERNAL},
		{errors.New("boom"), tenant.EINTERNAL},
		{tenant.Errorf(tenant.ENOTFOUND, "x"), tenant.ENOTFOUND},
	} {
		err := c.err
		translate(&err)
		if got := tenant.ErrorCode(err); got != c.code {
			t.Errorf("%v: %s, want %s", c.err, got, c.code)
		}
	}
}
