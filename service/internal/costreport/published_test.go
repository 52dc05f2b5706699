package costreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateShared = flag.Bool("update", false, "rewrite testdata/aws/other/costreport-emergency.json from the renderer")

// The alerts topic carries the daily report next to the budget alerts, and
// every subscriber of the topic must leave it alone (the tenant service's
// breaker hook, the dev breaker function's tests in components/lambda). Those
// tests read the report as published from testdata/aws; this test keeps that
// file equal to what Publish sends (Subject and Message) for a month at
// 215 % of the budget, the case that once took dev to zero nodes.
func TestPublishedReportOnTheAlertsTopic(t *testing.T) {
	r := &Report{
		Stack: "dev", Environment: "dev", TenantTagKey: "tenant",
		Periods:   PeriodsAt(time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC)),
		BudgetUSD: 600, EstimateUSD: 475.64, CeilingUSD: 700,
		YesterdayUSD: 96.20, MTDUSD: 1290, ForecastUSD: 2580, MTDPercent: 215, ForecastPercent: 430,
		Services: []Line{{Name: "Amazon Elastic Compute Cloud - Compute", USD: 1010.5, YesterdayUSD: 80.1}, {Name: "Amazon Relational Database Service", USD: 279.5, YesterdayUSD: 16.1}},
		Tenants:  []Line{{Name: UntaggedName, USD: 1290}},
	}
	r.Status = status(r.MTDUSD, r.BudgetUSD, r.Periods.DaysElapsed, r.Periods.DaysInMonth)
	if r.Status != StatusEmergency {
		t.Fatalf("status %s, want EMERGENCY", r.Status)
	}
	got, err := json.MarshalIndent(map[string]string{"Subject": r.Subject(), "Message": r.Text()}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("..", "..", "..", "testdata", "aws", "other", "costreport-emergency.json")
	if *updateShared {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./service/internal/costreport -run PublishedReport -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the report publishes; rerun with -update and review the diff:\n%s", path, got)
	}
	if !bytes.Contains(want, []byte("215.0% of the budget")) {
		t.Error("the recorded report no longer states a percentage above 200: it would not test what it is for")
	}
}
