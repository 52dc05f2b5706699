package bootstrap

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/testenv"
)

type fakeSecrets struct {
	arn, value string
	err        error
}

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	if aws.ToString(in.SecretId) != f.arn {
		return nil, errors.New("ResourceNotFoundException: no such secret")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

const arn = "arn:aws:secretsmanager:us-east-1:210987654321:secret:rds!db-0123abcd-AbCdEf"

func env(t *testing.T, db, role, password string) Env {
	u, err := url.Parse(testenv.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	e, err := LoadEnv(func(k string) string {
		return map[string]string{
			"MASTER_SECRET_ARN": arn, "DATABASE_HOST": u.Hostname(), "DATABASE_PORT": u.Port(),
			"DATABASE_NAME": db, "SERVICE_ROLE": role, "SERVICE_ROLE_PASSWORD": password, "DATABASE_SSLMODE": "disable",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLoadEnvNamesEveryProblem(t *testing.T) {
	_, err := LoadEnv(func(k string) string {
		return map[string]string{"DATABASE_PORT": "x", "SERVICE_ROLE": "Bad-Name", "SERVICE_ROLE_PASSWORD": "short", "DATABASE_SSLMODE": "prefer"}[k]
	})
	if err == nil {
		t.Fatal("an empty environment was accepted")
	}
	for _, name := range []string{"MASTER_SECRET_ARN", "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "SERVICE_ROLE:", "SERVICE_ROLE_PASSWORD", "DATABASE_SSLMODE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%s", name, err)
		}
	}
}

// TestRunCreatesAndConvergesTheRole: against the real PostgreSQL, the step
// creates the role with exactly the attributes tenantd demands, a second run
// rotates the password and keeps the attributes, and the role can log in.
func TestRunCreatesAndConvergesTheRole(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	suffix := testenv.Rand(4)
	db, role := "boot_"+suffix, "tenantd_"+suffix
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		_, _ = admin.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	})
	// The test server trusts loopback, so any master password logs in.
	secrets := fakeSecrets{arn: arn, value: `{"username":"postgres","password":"master-from-secrets-manager"}`}

	first := strings.Repeat("a1", 16)
	if err := Run(ctx, secrets, env(t, db, role, first)); err != nil {
		t.Fatal(err)
	}
	verifier := func() string {
		var v string
		if err := admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := verifier()
	second := strings.Repeat("b2", 16)
	if err := Run(ctx, secrets, env(t, db, role, second)); err != nil {
		t.Fatalf("second run (idempotent): %v", err)
	}
	if verifier() == before {
		t.Error("the second run did not set the new password")
	}
	var super, inherit, createrole, login bool
	if err := admin.QueryRow(ctx, "SELECT rolsuper, rolinherit, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1", role).
		Scan(&super, &inherit, &createrole, &login); err != nil {
		t.Fatal(err)
	}
	if super || inherit || !createrole || !login {
		t.Fatalf("role attributes super=%v inherit=%v createrole=%v login=%v; want false false true true", super, inherit, createrole, login)
	}
	var publicConnect bool
	if err := admin.QueryRow(ctx, "SELECT has_database_privilege('public', $1, 'CONNECT')", db).Scan(&publicConnect); err != nil {
		t.Fatal(err)
	}
	if publicConnect {
		t.Error("PUBLIC can still connect to the database")
	}
	var roleCreate bool
	if err := admin.QueryRow(ctx, "SELECT has_database_privilege($1, $2, 'CONNECT,CREATE')", role, db).Scan(&roleCreate); err != nil {
		t.Fatal(err)
	}
	if !roleCreate {
		t.Error("the service role lacks CONNECT, CREATE on its database")
	}
}

func TestMasterSecretProblemsNameTheSecretNotItsContent(t *testing.T) {
	ctx := context.Background()
	e := env(t, "whatever", "tenantd", strings.Repeat("c3", 16))
	for name, sm := range map[string]fakeSecrets{
		"not JSON":      {arn: arn, value: "hunter2-plain"},
		"no password":   {arn: arn, value: `{"username":"postgres","pw":"hunter2-plain"}`},
		"access denied": {err: errors.New("AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue")},
	} {
		_, err := MasterURL(ctx, sm, e)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), arn) {
			t.Errorf("%s: error must name the secret and never its value: %v", name, err)
		}
	}
}
