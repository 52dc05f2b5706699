// Package bootstrap creates or updates tenantd's own PostgreSQL login role
// with the RDS master credentials, which it reads from Secrets Manager at run
// time under its own identity (a bootstrap-only service account with IRSA).
// The master credentials therefore never pass through the Pulumi program,
// its state or a Kubernetes Secret, and the long-running tenantd pods cannot
// read them: they only ever hold their own role's password.
//
// The role it leaves behind may create tenant roles but is no superuser and
// inherits nothing, so a request only gets a tenant's rights after SET ROLE
// (see service/README.md). Running it again is harmless: it converges the
// role's attributes and password and re-applies the database grants.
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
)

// Env is the bootstrap step's configuration, read from the environment.
type Env struct {
	SecretARN string // MASTER_SECRET_ARN: the RDS-managed master secret
	Host      string // DATABASE_HOST
	Port      string // DATABASE_PORT, default 5432
	Database  string // DATABASE_NAME
	Role      string // SERVICE_ROLE: tenantd's login role
	Password  string // SERVICE_ROLE_PASSWORD: the password the role gets
	SSLMode   string // DATABASE_SSLMODE, default require (RDS forces TLS)
}

var (
	secretARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$`)
	identRE     = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	// The platform generates the password without special characters; a
	// narrow alphabet keeps it out of any quoting question.
	passwordRE = regexp.MustCompile(`^[A-Za-z0-9]{24,128}$`)
	portRE     = regexp.MustCompile(`^[0-9]{1,5}$`)
	sslModes   = map[string]bool{"require": true, "verify-ca": true, "verify-full": true, "disable": true}
)

// LoadEnv reads the environment through getenv and reports every bad
// variable at once, each naming the variable and the fix.
func LoadEnv(getenv func(string) string) (Env, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	e := Env{
		SecretARN: get("MASTER_SECRET_ARN", ""),
		Host:      get("DATABASE_HOST", ""),
		Port:      get("DATABASE_PORT", "5432"),
		Database:  get("DATABASE_NAME", ""),
		Role:      get("SERVICE_ROLE", ""),
		Password:  getenv("SERVICE_ROLE_PASSWORD"),
		SSLMode:   get("DATABASE_SSLMODE", "require"),
	}
	var errs []string
	bad := func(name, format string, args ...any) {
		errs = append(errs, name+": "+fmt.Sprintf(format, args...))
	}
	if !secretARNRE.MatchString(e.SecretARN) {
		bad("MASTER_SECRET_ARN", "required: the ARN of the RDS-managed master secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
	}
	if e.Host == "" {
		bad("DATABASE_HOST", "required: the RDS endpoint address")
	}
	if !portRE.MatchString(e.Port) {
		bad("DATABASE_PORT", "must be a port number (default 5432)")
	}
	if !identRE.MatchString(e.Database) {
		bad("DATABASE_NAME", "required: a plain PostgreSQL database name (a-z, 0-9, _)")
	}
	if !identRE.MatchString(e.Role) {
		bad("SERVICE_ROLE", "required: tenantd's login role, a plain name (a-z, 0-9, _)")
	}
	if !passwordRE.MatchString(e.Password) {
		bad("SERVICE_ROLE_PASSWORD", "required: 24-128 letters and digits (the platform generates it)")
	}
	if !sslModes[e.SSLMode] {
		bad("DATABASE_SSLMODE", "must be require, verify-ca, verify-full or disable (default require)")
	}
	if len(errs) > 0 {
		return Env{}, fmt.Errorf("invalid configuration (%d problems):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return e, nil
}

// SecretGetter is the one Secrets Manager call the step makes.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// MasterURL reads the master credentials (the RDS-managed secret holds JSON
// {"username", "password"}) and returns a connection URL for the database.
func MasterURL(ctx context.Context, sm SecretGetter, e Env) (string, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.SecretARN)})
	if err != nil {
		return "", fmt.Errorf("read the master secret %s: %w", e.SecretARN, err)
	}
	var creds struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &creds) != nil || creds.Username == "" || creds.Password == "" {
		// Never echo the secret's content.
		return "", fmt.Errorf("the master secret %s does not hold JSON with username and password", e.SecretARN)
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(creds.Username, creds.Password),
		Host:     e.Host + ":" + e.Port,
		Path:     "/" + e.Database,
		RawQuery: "sslmode=" + e.SSLMode,
	}
	return u.String(), nil
}

// EnsureRole creates the role when missing and converges it: LOGIN,
// NOINHERIT, NOSUPERUSER, CREATEROLE, the given password; the database
// admits it (CONNECT, CREATE) and nobody else by default.
func EnsureRole(ctx context.Context, conn *pgx.Conn, role, password, database string) error {
	if !identRE.MatchString(role) || !identRE.MatchString(database) || !passwordRE.MatchString(password) {
		return errors.New("bootstrap: role, database or password has an unexpected shape")
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", role, err)
	}
	ident := pgx.Identifier{role}.Sanitize()
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE ROLE `+ident+` LOGIN NOINHERIT NOSUPERUSER CREATEROLE`); err != nil {
			return fmt.Errorf("create role %s: %w", role, err)
		}
	}
	// Utility statements take no parameters: the server quotes the password
	// with format(%L), so no client-side escaping is involved.
	var alter string
	if err := tx.QueryRow(ctx, `SELECT format('ALTER ROLE %I WITH LOGIN NOINHERIT NOSUPERUSER CREATEROLE PASSWORD %L', $1::text, $2::text)`,
		role, password).Scan(&alter); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, alter); err != nil {
		return fmt.Errorf("alter role %s: %w", role, err)
	}
	db := pgx.Identifier{database}.Sanitize()
	for _, q := range []string{
		`REVOKE ALL ON DATABASE ` + db + ` FROM PUBLIC`,
		`GRANT CONNECT, CREATE ON DATABASE ` + db + ` TO ` + ident,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return tx.Commit(ctx)
}

// Run reads the master secret, connects as the master user and ensures the
// service role.
func Run(ctx context.Context, sm SecretGetter, e Env) error {
	master, err := MasterURL(ctx, sm, e)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, master)
	if err != nil {
		return fmt.Errorf("connect to %s:%s/%s as the master user: %w", e.Host, e.Port, e.Database, redact(err, master))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return EnsureRole(ctx, conn, e.Role, e.Password, e.Database)
}

// redact keeps the master URL (it holds the password) out of error text.
func redact(err error, secretURL string) error {
	msg := err.Error()
	if strings.Contains(msg, secretURL) {
		return errors.New(strings.ReplaceAll(msg, secretURL, "postgres://***"))
	}
	return err
}
