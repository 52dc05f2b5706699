package stacks_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/stacks"
)

// TestZoneRuleIsTheProgramsLookup: `go run . preflight` judges EC2's
// description of the zones with Config.SelectZones; the program asks the
// getAvailabilityZones data source with filters. Answering the program's
// lookup by applying its own arguments the way the data source does (state,
// filters, excludeZoneIds) must give the zones SelectZones gives, so the two
// readings of the rule cannot drift apart.
func TestZoneRuleIsTheProgramsLookup(t *testing.T) {
	zone := func(id string, change func(*stacks.Zone)) stacks.Zone {
		z := stacks.Zone{ID: id, Name: "us-east-1-" + id, State: "available", OptInStatus: "opt-in-not-required", Type: "availability-zone"}
		if change != nil {
			change(&z)
		}
		return z
	}
	// One zone for each way to be passed over, and az10 to sort after az6.
	described := []stacks.Zone{
		zone("use1-az6", nil),
		zone("use1-az10", nil),
		zone("use1-az1", nil),
		zone("use1-az2", func(z *stacks.Zone) { z.State = "impaired" }),
		zone("use1-az3", nil), // EKS rejects it: excluded by default
		zone("use1-az4", nil),
		zone("use1-az5", func(z *stacks.Zone) { z.OptInStatus = "opted-in" }),
		zone("use1-bos1-az1", func(z *stacks.Zone) { z.Type = "local-zone"; z.OptInStatus = "opted-in" }),
	}
	field := map[string]func(stacks.Zone) string{
		"opt-in-status": func(z stacks.Zone) string { return z.OptInStatus },
		"zone-type":     func(z stacks.Zone) string { return z.Type },
	}
	lookup := func(args map[string]any) (map[string]any, error) {
		var ids []any
		for _, z := range described {
			ok := args["state"] == nil || args["state"] == z.State
			for _, f := range asList(args["filters"]) {
				f := f.(map[string]any)
				get, known := field[f["name"].(string)]
				require.True(t, known, "the program filters zones on %v: teach this test (and Config.ZoneUsable) that filter", f["name"])
				ok = ok && slices.Contains(asList(f["values"]), any(get(z)))
			}
			ok = ok && !slices.Contains(asList(args["excludeZoneIds"]), any(z.ID))
			if ok {
				ids = append(ids, z.ID)
			}
		}
		return map[string]any{"id": "us-east-1", "zoneIds": ids, "names": []any{}, "groupNames": []any{"us-east-1"}}, nil
	}
	for stack, want := range map[string][]string{"dev": {"use1-az1", "use1-az4"}, "prod": {"use1-az1", "use1-az4", "use1-az6"}} {
		t.Run(stack, func(t *testing.T) {
			e := &mockengine.Engine{Answers: map[string]func(map[string]any) (map[string]any, error){
				"aws:index/getAvailabilityZones:getAvailabilityZones": lookup,
			}}
			require.NoError(t, evaluateWith(t, e, stack, map[string]string{"platform:availabilityZoneIds": ""}))
			var program []string
			for _, s := range e.Find("aws:ec2/subnet:Subnet") {
				if s.Tags()["tier"] == "private" {
					id, _ := s.String("availabilityZoneId")
					program = append(program, id)
				}
			}
			sf, err := stacks.LoadStack("..", stack)
			require.NoError(t, err)
			delete(sf.Config, "platform:availabilityZoneIds")
			cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
			require.NoError(t, err)
			chosen, err := cfg.SelectZones(described)
			require.NoError(t, err)
			assert.Equal(t, want, chosen, "available, no opt-in, an availability zone, not excluded; lowest IDs (az10 after az6)")
			assert.ElementsMatch(t, chosen, program, "the program's lookup and preflight's choose the same zones")
		})
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
