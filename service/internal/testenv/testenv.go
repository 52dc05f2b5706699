// Package testenv gives each test its own PostgreSQL database and login role
// and its own Redis key prefix on the throwaway servers that
// scripts/test-services.sh starts. Tests fail, never skip, without them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
)

const hint = "run scripts/test.sh (or: scripts/test-services.sh start && eval \"$(scripts/test-services.sh env)\")"

// AdminURL is TEST_DATABASE_URL, a superuser URL on the test server.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("TEST_DATABASE_URL is not set: " + hint)
	}
	return u
}

// RedisAddr is TEST_REDIS_ADDR.
func RedisAddr(t testing.TB) string {
	t.Helper()
	a := os.Getenv("TEST_REDIS_ADDR")
	if a == "" {
		t.Fatal("TEST_REDIS_ADDR is not set: " + hint)
	}
	return a
}

// Rand returns n random bytes as hex.
func Rand(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DB is one test's database.
type DB struct {
	Name     string
	AppRole  string
	AppURL   string // log in as the service does: NOINHERIT, CREATEROLE, not superuser
	AdminURL string // superuser, connected to this database
}

// NewDatabase creates a database and a service login role for one test, set
// up as service/README.md tells operators to, and drops both (and every
// tenant role the test created) when the test ends.
func NewDatabase(t testing.TB) *DB {
	t.Helper()
	admin := AdminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v (%s)", err, hint)
	}
	defer conn.Close(ctx)
	id := Rand(6)
	d := &DB{Name: "tenantd_test_" + id, AppRole: "tenantd_app_" + id}
	for _, q := range []string{
		`CREATE DATABASE ` + d.Name,
		`REVOKE ALL ON DATABASE ` + d.Name + ` FROM PUBLIC`,
		`CREATE ROLE ` + d.AppRole + ` LOGIN NOINHERIT NOSUPERUSER CREATEROLE`,
		`GRANT CONNECT, CREATE ON DATABASE ` + d.Name + ` TO ` + d.AppRole,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	d.AppURL = withUserDB(t, admin, d.AppRole, d.Name)
	d.AdminURL = withUserDB(t, admin, "", d.Name)
	t.Cleanup(func() { d.drop(t, admin) })
	return d
}

func withUserDB(t testing.TB, raw, user, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	if user != "" {
		u.User = url.User(user)
	}
	u.Path = "/" + db
	return u.String()
}

func (d *DB) drop(t testing.TB, admin string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = $1`, d.AppRole)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+d.Name+` WITH (FORCE)`); err != nil {
		t.Errorf("cleanup: drop database: %v", err)
	}
	for _, r := range append(roles, d.AppRole) {
		if _, err := conn.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize()); err != nil {
			t.Errorf("cleanup: drop role %s: %v", r, err)
		}
	}
}

// Redis returns a client for TEST_REDIS_ADDR and a fresh key prefix whose keys
// are deleted when the test ends.
func Redis(t testing.TB) (*goredis.Client, string) {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: RedisAddr(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at TEST_REDIS_ADDR: %v (%s)", err, hint)
	}
	prefix := "test:" + Rand(6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, "*"+prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}
