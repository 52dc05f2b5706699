//go:build engine

// Package engine holds the engine-level tests: the real Pulumi CLI and engine
// (through the Automation API, inline programs), the real policy pack binary
// loaded by the CLI with --policy-pack, and the real Kubernetes provider
// deploying onto a real kube-apiserver (etcd, controller-manager, scheduler,
// kwok fake nodes) on loopback. AWS is a test double (testdouble/). Offline.
//
//	eval "$(scripts/engine-tools.sh)"             # pinned tools, built once into ~/.cache/tenantco-tools
//	go test -tags engine -count=1 -timeout 60m ./tests/engine/
//
// See docs/engine-tests.md. A missing tool fails the run; nothing is skipped.
package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Plugin versions the program's SDKs ask for (go.mod).
const (
	awsVersion        = "6.83.4"
	eksVersion        = "2.8.1"
	randomVersion     = "4.18.0"
	kubernetesVersion = "4.32.0"
)

var env struct {
	root       string   // repository root
	tmp        string   // everything of this run: PULUMI_HOME, state, cluster, logs
	policyPack string   // the policy pack binary (--policy-pack)
	cluster    *cluster // the local control plane
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "engine tests: setup failed: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	start := time.Now()
	root, err := filepath.Abs("../..")
	if err != nil {
		return 1, err
	}
	env.root = root
	for _, bin := range []string{"pulumi", "pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, err := exec.LookPath(bin); err != nil {
			return 1, fmt.Errorf("%s is not on PATH: run `eval \"$(scripts/engine-tools.sh)\"` first (docs/engine-tests.md)", bin)
		}
	}
	if env.tmp, err = os.MkdirTemp("", "engine-tests-"); err != nil {
		return 1, err
	}
	keep := os.Getenv("ENGINE_TESTS_KEEP") != ""
	defer func() {
		if !keep {
			os.RemoveAll(env.tmp)
		}
	}()
	fmt.Fprintf(os.Stderr, "engine tests: working directory %s (ENGINE_TESTS_KEEP=1 keeps it)\n", env.tmp)

	// The Pulumi CLI and every plugin it starts see only this run's home,
	// a local state backend, and no network-dependent behaviour.
	for k, v := range map[string]string{
		"PULUMI_HOME":                                 filepath.Join(env.tmp, "pulumi-home"),
		"PULUMI_BACKEND_URL":                          "file://" + filepath.Join(env.tmp, "state"),
		"PULUMI_CONFIG_PASSPHRASE":                    "engine-tests",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_DISABLE_REGISTRY_RESOLVE":             "true",
		"PULUMI_SKIP_CONFIRMATIONS":                   "true",
		// Plugins from the temp PULUMI_HOME only, not from PATH.
		"PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
		"KUBECONFIG":                    filepath.Join(env.tmp, "no-kubeconfig"),
	} {
		os.Setenv(k, v)
	}
	for _, d := range []string{"pulumi-home", "state", "bin", "logs", "work"} {
		if err := os.MkdirAll(filepath.Join(env.tmp, d), 0o755); err != nil {
			return 1, err
		}
	}

	// The test double (aws, eks, random) and the policy pack, built from
	// this checkout.
	double := filepath.Join(env.tmp, "bin", "testdouble")
	env.policyPack = filepath.Join(env.tmp, "bin", "policy", "tenantco-platform")
	for out, pkg := range map[string]string{double: "./tests/engine/testdouble", env.policyPack: "./policies/pack"} {
		if err := run(root, "go", "build", "-o", out, pkg); err != nil {
			return 1, err
		}
	}
	kubeProvider, _ := exec.LookPath("pulumi-resource-kubernetes")
	for _, p := range []struct{ name, version, file string }{
		{"aws", awsVersion, double}, {"eks", eksVersion, double}, {"random", randomVersion, double},
		{"kubernetes", kubernetesVersion, kubeProvider},
	} {
		if err := run(env.tmp, "pulumi", "plugin", "install", "resource", p.name, p.version, "--file", p.file); err != nil {
			return 1, err
		}
	}

	if env.cluster, err = startCluster(filepath.Join(env.tmp, "cluster")); err != nil {
		return 1, fmt.Errorf("local Kubernetes control plane: %w", err)
	}
	defer env.cluster.stop()
	// The eks double hands this kubeconfig to the program (its
	// kubeconfigJson output); the CLI passes the variable to its plugins.
	os.Setenv("TESTDOUBLE_KUBECONFIG", env.cluster.kubeconfigJSON)
	fmt.Fprintf(os.Stderr, "engine tests: setup took %s (plugins installed, control plane at %s with %d kwok nodes)\n",
		time.Since(start).Round(time.Second), env.cluster.server, len(zones))

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "engine tests: control plane logs:\n%s", env.cluster.logTails())
	}
	return code, nil
}

// run runs a command in dir; its output is returned in the error.
func run(dir, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}
