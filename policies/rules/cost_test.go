package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
)

func costViolations(t *testing.T, rs []inventory.Resource, s Settings) []Violation {
	t.Helper()
	vs, err := CheckStack(rs, s)
	if err != nil {
		t.Fatalf("CheckStack: %v", err)
	}
	return only(vs, "cost-ceiling")
}

// expectedDeny builds the message cost-ceiling must give for rs, from the
// same estimate the rule judged.
func expectedDeny(t *testing.T, rs []inventory.Resource, s Settings) string {
	t.Helper()
	est, _, err := estimateCost(rs, s)
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, l := range est.Top(3) {
		top = append(top, fmt.Sprintf("%s (%s) %s", l.Name, l.Type, cost.FormatUSD(l.MonthlyUSD)))
	}
	return fmt.Sprintf("monthly cost %s exceeds the ceiling %s by %s; biggest: %s",
		cost.FormatUSD(est.MonthlyUSD), cost.FormatUSD(s.CeilingUSD), cost.FormatUSD(est.MonthlyUSD-s.CeilingUSD), strings.Join(top, ", "))
}

func TestCostCeilingDevStackFits(t *testing.T) {
	s := settings(Dev)
	est, unpriced, err := estimateCost(devStack(), s)
	if err != nil || len(unpriced) > 0 {
		t.Fatalf("estimateCost: %v %v", err, unpriced)
	}
	// Close to the reference dev estimate (~$357, plus a third node at max
	// and the database's surplus CPU credits, $87.60, in the ceiling case).
	if est.MonthlyUSD < 400 || est.MonthlyUSD > 550 {
		t.Errorf("dev stack costs %s a month; expected about $480", cost.FormatUSD(est.MonthlyUSD))
	}
	assertViolations(t, costViolations(t, devStack(), s), nil)
}

// Raise the node group's maxSize one node at a time: the rule warns from
// 90 % of the ceiling and fails above it, naming total, ceiling and the
// three biggest contributors.
func TestCostCeilingFailsAsNodeGroupGrows(t *testing.T) {
	s := settings(Dev)
	var warned bool
	for maxSize := 3.0; maxSize <= 40; maxSize++ {
		rs := replace(devStack(), with(goodNodeGroup, "scalingConfig.maxSize", maxSize))
		vs := costViolations(t, rs, s)
		if len(vs) == 0 {
			if warned {
				t.Fatalf("maxSize %g: no violation after a warning", maxSize)
			}
			continue
		}
		if vs[0].Level == Advisory {
			if !strings.Contains(vs[0].Message, "% of the ceiling "+cost.FormatUSD(s.CeilingUSD)+" (headroom $") {
				t.Errorf("warning: %s", vs[0].Message)
			}
			warned = true
			continue
		}
		if !warned {
			t.Errorf("maxSize %g: failed without a warning first", maxSize)
		}
		assertViolations(t, vs, []want{mand(expectedDeny(t, rs, s))})
		if !strings.Contains(vs[0].Message, "biggest: dev-nodes (eks:index:ManagedNodeGroup) $") {
			t.Errorf("the node group should be the biggest contributor: %s", vs[0].Message)
		}
		t.Logf("maxSize %g: %s", maxSize, vs[0].Message)
		return
	}
	t.Fatal("the cost policy never failed")
}

// An accidental db.r6g.8xlarge in prod: the cost ceiling fails (and the
// class is off the allow-list).
func TestCostCeilingFailsWithHugeDatabase(t *testing.T) {
	s := settings(Prod)
	s.CeilingUSD = 1200
	db := with(goodDB, "instanceClass", "db.r6g.8xlarge")
	rs := replace(devStack(), db)
	vs, err := Evaluate(rs, s)
	if err != nil {
		t.Fatal(err)
	}
	assertViolations(t, only(vs, "cost-ceiling"), []want{mand(expectedDeny(t, rs, s))})
	if !strings.Contains(only(vs, "cost-ceiling")[0].Message, "biggest: dev-db (aws:rds/instance:Instance) $") {
		t.Errorf("the database should be the biggest contributor: %s", only(vs, "cost-ceiling")[0].Message)
	}
	assertViolations(t, only(vs, "instance-class-allowed"), []want{mand("db.r6g.8xlarge is not allowed in prod")})
}

func TestCostCeilingNotConfigured(t *testing.T) {
	for _, ceiling := range []float64{0, -5} {
		s := settings(Dev)
		s.CeilingUSD = ceiling
		assertViolations(t, costViolations(t, devStack(), s), []want{mand("platform:monthlyCeiling is not configured")})
	}
}

// Preview: unknown inputs never crash the rule. What the model can price
// with a documented fallback is priced and the fallback is named; what it
// cannot price (an unknown instance class) is left out with an advisory.
func TestCostCeilingPreviewUnknowns(t *testing.T) {
	s := settings(Dev)
	s.CeilingUSD = 200 // below the known part: the rule must still judge
	ng := with(goodNodeGroup, "scalingConfig.maxSize", unk)
	db := with(goodDB, "instanceClass", unk)
	rs := replace(replace(devStack(), ng), db)

	vs := costViolations(t, rs, s)
	assertViolations(t, vs, []want{
		adv("cannot price: cost: cannot price aws:rds/instance:Instance \"dev-db\""),
		mand("monthly cost $"),
	})
	if vs[0].URN != goodDB.URN {
		t.Errorf("unpriced finding on %s, want the database", vs[0].URN)
	}
	for _, part := range []string{"exceeds the ceiling $200.00", "1 resource(s) left out, unpriced",
		"assumed: dev-nodes: node count; scalingConfig.maxSize unknown: ceiling uses scalingConfig.desiredSize (2)"} {
		if !strings.Contains(vs[1].Message, part) {
			t.Errorf("message lacks %q:\n%s", part, vs[1].Message)
		}
	}

	// Under the ceiling, the unknown class is the only (advisory) finding:
	// nothing blocks on an unknown.
	s.CeilingUSD = 5000
	assertViolations(t, costViolations(t, rs, s), []want{adv(`cannot price aws:rds/instance:Instance "dev-db"`)})
}

func TestCostCeilingUnpricedTypeBlocks(t *testing.T) {
	rs := append(devStack(), awsRes("aws:dynamodb/table:Table", "sessions", map[string]any{"billingMode": "PAY_PER_REQUEST"}))
	assertViolations(t, costViolations(t, rs, settings(Dev)), []want{mand(`no price for resource type "aws:dynamodb/table:Table"`)})
}

// The preview case of a whole scalingConfig unknown: the cost model reads
// the node counts through the same inventory.Lookup as the rules, so the
// node group is left out of the total with an advisory "cannot price"
// finding (it has an unknown input: nothing blocks on an unknown), never
// priced at the default size.
func TestCostCeilingWholeScalingConfigUnknown(t *testing.T) {
	s := settings(Dev)
	ng := with(goodNodeGroup, "scalingConfig", unk)
	rs := replace(devStack(), ng)
	vs := costViolations(t, rs, s)
	assertViolations(t, vs, []want{adv(`cannot price eks:index:ManagedNodeGroup "dev-nodes"`)})
	if vs[0].URN != ng.URN {
		t.Errorf("finding on %s, want the node group", vs[0].URN)
	}
	for _, part := range []string{"scalingConfig.maxSize, scalingConfig.desiredSize and scalingConfig.minSize are all unknown", "left out of the monthly total"} {
		if !strings.Contains(vs[0].Message, part) {
			t.Errorf("message lacks %q:\n%s", part, vs[0].Message)
		}
	}
	est, unpriced, err := estimateCost(rs, s)
	if err != nil || len(unpriced) != 1 {
		t.Fatalf("estimateCost: %v %v", err, unpriced)
	}
	for _, l := range est.Lines {
		if l.URN == ng.URN {
			t.Errorf("the node group is priced anyway: %+v", l)
		}
	}
}

// The offline review prices the stack once and hands its estimate over in
// Settings.Estimate: cost-ceiling judges that estimate instead of pricing the
// stack a second time.
func TestCostCeilingJudgesTheGivenEstimate(t *testing.T) {
	s := settings(Dev)
	rs := devStack()
	assertViolations(t, costViolations(t, rs, s), nil) // priced by the rule itself: it fits
	est, _, err := estimateCost(rs, s)
	if err != nil {
		t.Fatal(err)
	}
	over := *est
	over.MonthlyUSD = s.CeilingUSD + 1
	s.Estimate = &over
	assertViolations(t, costViolations(t, rs, s), []want{mand(fmt.Sprintf("monthly cost %s exceeds the ceiling %s by $1.00",
		cost.FormatUSD(over.MonthlyUSD), cost.FormatUSD(s.CeilingUSD)))})
}
