package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
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

// TestMigrationJobStepsOnRealPostgres runs the deploy-time steps the way the
// cluster does, with the binaries the image ships: `tenantd bootstrap`
// reads the RDS master secret from Secrets Manager (here a local endpoint
// speaking the service's JSON 1.1 protocol, reached through the SDK's
// standard AWS_ENDPOINT_URL_SECRETS_MANAGER setting) and creates tenantd's
// role, then `tenantd migrate` logs in as that role, which tenantd accepts
// only if it is NOSUPERUSER, NOINHERIT and CREATEROLE. The environment is the
// one the program gives each Job.
func TestMigrationJobStepsOnRealPostgres(t *testing.T) {
	admin := os.Getenv("TEST_DATABASE_URL")
	redisAddr := os.Getenv("TEST_REDIS_ADDR")
	if admin == "" || redisAddr == "" {
		t.Fatal("TEST_DATABASE_URL / TEST_REDIS_ADDR are not set: run scripts/test.sh")
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

	// Secrets Manager as the SDK calls it: POST, X-Amz-Target
	// secretsmanager.GetSecretValue, JSON in and out.
	const secretArn = "arn:aws:secretsmanager:us-east-1:210987654321:secret:rds!db-0a1b2c-AbCdEf"
	var reads atomic.Int32
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || in.SecretId != secretArn {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		reads.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		creds, _ := json.Marshal(map[string]string{"username": master.User.Username(), "password": "the-master-password"})
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": secretArn, "Name": "rds!db-0a1b2c", "SecretString": string(creds), "VersionId": "v1"})
	}))
	defer sm.Close()

	bin := filepath.Join(t.TempDir(), "tenantd")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./service/cmd/tenantd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build tenantd: %s", out)

	bootstrap := func(password string) {
		cmd := exec.Command(bin, "bootstrap")
		cmd.Env = append(os.Environ(),
			"MASTER_SECRET_ARN="+secretArn, "DATABASE_HOST="+master.Hostname(), "DATABASE_PORT="+master.Port(),
			"DATABASE_NAME="+db, "SERVICE_ROLE="+components.ServiceDatabaseRole, "SERVICE_ROLE_PASSWORD="+password,
			"DATABASE_SSLMODE=disable", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_SECRETS_MANAGER="+sm.URL,
			"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "tenantd bootstrap: %s", out)
		assert.NotContains(t, string(out), "the-master-password", "the master password never reaches the log")
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
	assert.Equal(t, int32(2), reads.Load(), "each run read the master secret itself")

	var super, inherit, createrole bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT rolsuper, rolinherit, rolcreaterole FROM pg_roles WHERE rolname = $1",
		components.ServiceDatabaseRole).Scan(&super, &inherit, &createrole))
	assert.False(t, super)
	assert.False(t, inherit)
	assert.True(t, createrole)

	app := *master
	app.Path = "/" + db
	app.User = url.UserPassword(components.ServiceDatabaseRole, password)
	migrate := exec.Command(bin, "migrate", "-workers", "2")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+app.String(), "REDIS_ADDR="+redisAddr,
		"ADMIN_TOKEN="+randHex(24), "LOG_LEVEL=error")
	out, err = migrate.CombinedOutput()
	require.NoError(t, err, "tenantd migrate as the bootstrapped role: %s", out)
}
