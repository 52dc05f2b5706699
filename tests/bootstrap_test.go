package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestMigrationJobStepsOnRealPostgres runs the migrations Job's two steps the
// way the cluster does: the bootstrap script (as the RDS master user) creates
// tenantd's role, then `tenantd migrate` logs in as that role — which tenantd
// accepts only if it is NOSUPERUSER, NOINHERIT and CREATEROLE.
func TestMigrationJobStepsOnRealPostgres(t *testing.T) {
	admin := os.Getenv("TEST_DATABASE_URL")
	redisAddr := os.Getenv("TEST_REDIS_ADDR")
	if admin == "" || redisAddr == "" {
		t.Fatal("TEST_DATABASE_URL / TEST_REDIS_ADDR are not set: run scripts/test.sh")
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatal("psql is required (the bootstrap step runs it): apt-get install postgresql-client")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	db := "bootstrap_" + randHex(4)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+db)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+components.ServiceDatabaseRole)
	})

	master, err := url.Parse(admin)
	require.NoError(t, err)
	master.Path = "/" + db
	bootstrap := func(password string) {
		cmd := exec.Command("sh", "-c", components.BootstrapScript)
		cmd.Env = append(os.Environ(), "MASTER_DATABASE_URL="+master.String(), "TENANTD_DB_PASSWORD="+password, "DATABASE_NAME="+db)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "bootstrap: %s", out)
	}
	verifier := func() string {
		var v string
		require.NoError(t, conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", components.ServiceDatabaseRole).Scan(&v))
		return v
	}
	bootstrap(randHex(16))
	first := verifier()
	password := randHex(16)
	bootstrap(password) // idempotent: a second deploy rotates the password
	assert.NotEqual(t, first, verifier(), "the second bootstrap set the new password")

	var super, inherit, createrole bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT rolsuper, rolinherit, rolcreaterole FROM pg_roles WHERE rolname = $1",
		components.ServiceDatabaseRole).Scan(&super, &inherit, &createrole))
	assert.False(t, super)
	assert.False(t, inherit)
	assert.True(t, createrole)

	bin := filepath.Join(t.TempDir(), "tenantd")
	build := exec.Command("go", "build", "-o", bin, "./service/cmd/tenantd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build tenantd: %s", out)

	app := *master
	app.User = url.UserPassword(components.ServiceDatabaseRole, password)
	migrate := exec.Command(bin, "migrate", "-workers", "2")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+app.String(), "REDIS_ADDR="+redisAddr,
		"ADMIN_TOKEN="+randHex(24), "LOG_LEVEL=error")
	out, err = migrate.CombinedOutput()
	require.NoError(t, err, "tenantd migrate as the bootstrapped role: %s", out)
}
