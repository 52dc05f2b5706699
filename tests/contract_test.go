package tests

import (
	"fmt"
	"sort"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/service/contract"
	"github.com/tenantco/platform/stacks"
)

// TestPlatformServiceContract renders the program for both stacks, with and
// without every optional secret, and feeds the exact command line, env and
// Secret keys of every container the platform runs (tenantd serve, the
// bootstrap and migrations Jobs, the cost report) to the service's own
// loaders (service/contract). A variable the service requires and the
// platform does not set fails the loader; one the platform sets and no
// loader reads fails here. Setting platform:stripeWebhookSecret used to put
// STRIPE_WEBHOOK_SECRET into tenantd's Secret without STRIPE_PRICE_TIERS,
// which the service requires: tenantd migrate refused to start and the
// rollout stopped.
func TestPlatformServiceContract(t *testing.T) {
	optional := map[string]map[string]string{
		"no optional secrets": {},
		"heartbeat":           {"platform:heartbeatUrl": "https://uptime.betterstack.com/api/v1/heartbeat/AbCdEf123"},
		"stripe": {
			"platform:stripeWebhookSecret": "whsec_0123456789abcdef",
			"platform:stripePriceTiers":    `{"price_1PstarterAbc":"starter","price_1PproXyz":"pro"}`,
		},
		"every optional secret": {
			"platform:heartbeatUrl":        "https://uptime.betterstack.com/api/v1/heartbeat/AbCdEf123",
			"platform:stripeWebhookSecret": "whsec_0123456789abcdef",
			"platform:stripePriceTiers":    `{"price_1PstarterAbc":"starter"}`,
		},
	}
	for _, stack := range []string{"dev", "prod"} {
		for variant, set := range optional {
			t.Run(stack+"/"+variant, func(t *testing.T) {
				sf, err := stacks.LoadStack("..", stack)
				require.NoError(t, err)
				cfg := map[string]string{}
				for k, v := range sf.Config {
					cfg[k] = v
				}
				secrets := append([]string(nil), sf.SecretKeys...)
				for k, v := range set {
					cfg[k] = v
					if k != "platform:stripePriceTiers" {
						secrets = append(secrets, k)
					}
				}
				e, err := mockengine.Run(stacks.ReviewProgram, sf.Project, sf.Stack, cfg, secrets, false)
				require.NoError(t, err)
				containers := containersOf(t, e)
				require.Len(t, containers, 4, "serve, bootstrap, migrate, cost report")
				for _, c := range containers {
					read, err := contract.Check(c.command, c.env)
					assert.NoError(t, err, "%s: the service refuses what the platform gives it", c.where)
					for name := range c.env {
						assert.Contains(t, read, name, "%s: the platform sets %s, which nothing in the service reads", c.where, name)
					}
				}
			})
		}
	}
}

// A webhook secret without its price map is refused by the stack config,
// naming the key, before anything registers.
func TestStripeSecretNeedsItsPriceMap(t *testing.T) {
	sf, err := stacks.LoadStack("..", "prod")
	require.NoError(t, err)
	cfg := map[string]string{}
	for k, v := range sf.Config {
		cfg[k] = v
	}
	cfg["platform:stripeWebhookSecret"] = "whsec_0123456789abcdef"
	e, err := mockengine.Run(stacks.ReviewProgram, sf.Project, sf.Stack, cfg, append(sf.SecretKeys, "platform:stripeWebhookSecret"), false)
	require.ErrorContains(t, err, "platform:stripePriceTiers: required when stripeWebhookSecret is set")
	assert.Empty(t, e.Resources())
}

type container struct {
	where   string
	command []string
	env     map[string]string
}

// containersOf reads every container of every workload with the values the
// program registered (secrets in the clear: RawInputs), its envFrom Secrets
// expanded the way the kubelet does.
func containersOf(t *testing.T, e *mockengine.Engine) []container {
	t.Helper()
	secretData := map[string]map[string]string{}
	for _, s := range e.Find("kubernetes:core/v1:Secret") {
		raw := plain(resource.NewObjectProperty(e.RawInputs(s.URN))).(map[string]any)
		name := raw["metadata"].(map[string]any)["name"].(string)
		secretData[name] = map[string]string{}
		for k, v := range raw["stringData"].(map[string]any) {
			secretData[name][k] = fmt.Sprint(v)
		}
	}
	templates := map[string][]string{
		"kubernetes:apps/v1:Deployment": {"spec", "template", "spec"},
		"kubernetes:batch/v1:Job":       {"spec", "template", "spec"},
		"kubernetes:batch/v1:CronJob":   {"spec", "jobTemplate", "spec", "template", "spec"},
	}
	var out []container
	types := make([]string, 0, len(templates))
	for typ := range templates {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		for _, r := range e.Find(typ) {
			// The service's workloads; the cluster's own add-ons in
			// kube-system (metrics-server, the Cluster Autoscaler) are not
			// tenantd.
			if ns, _ := r.String("metadata.namespace"); ns == "kube-system" {
				continue
			}
			var spec any = plain(resource.NewObjectProperty(e.RawInputs(r.URN)))
			for _, k := range templates[typ] {
				spec = spec.(map[string]any)[k]
			}
			podSpec := spec.(map[string]any)
			var cs []any
			for _, key := range []string{"initContainers", "containers"} {
				if list, ok := podSpec[key].([]any); ok {
					cs = append(cs, list...)
				}
			}
			for i, c := range cs {
				cm := c.(map[string]any)
				ct := container{where: fmt.Sprintf("%s %s container %d", typ, r.Name, i), env: map[string]string{}}
				for _, a := range cm["command"].([]any) {
					ct.command = append(ct.command, a.(string))
				}
				for _, a := range asList(cm["args"]) {
					ct.command = append(ct.command, a.(string))
				}
				for _, from := range asList(cm["envFrom"]) {
					ref := from.(map[string]any)["secretRef"].(map[string]any)["name"].(string)
					data, ok := secretData[ref]
					require.True(t, ok, "%s reads Secret %s, which the program does not create", ct.where, ref)
					for k, v := range data {
						ct.env[k] = v
					}
				}
				for _, ev := range asList(cm["env"]) {
					m := ev.(map[string]any)
					ct.env[m["name"].(string)] = fmt.Sprint(m["value"])
				}
				out = append(out, ct)
			}
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// plain turns property values into Go values with secrets unwrapped.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		var l []any
		for _, e := range v.ArrayValue() {
			l = append(l, plain(e))
		}
		return l
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	}
	return nil
}
