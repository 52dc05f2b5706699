package costreport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// ---- test servers speaking the AWS wire protocols ----

// ceRequest is the JSON body of a GetCostAndUsage request as sent on the wire.
type ceRequest struct {
	TimePeriod  struct{ Start, End string }
	Granularity string
	Metrics     []string
	GroupBy     []struct{ Type, Key string }
	Filter      struct {
		Tags *struct {
			Key          string
			Values       []string
			MatchOptions []string
		}
	}
	NextPageToken string
}

func (r ceRequest) groupBy() string {
	var s []string
	for _, g := range r.GroupBy {
		s = append(s, g.Type+":"+g.Key)
	}
	return strings.Join(s, ",")
}

type ceResponse struct {
	status int
	body   string
}

// ceServer is an httptest server speaking Cost Explorer's AWS JSON 1.1
// protocol. It records every request and answers with respond's body.
type ceServer struct {
	mu       sync.Mutex
	requests []ceRequest
	client   *costexplorer.Client
}

func newCEServer(t *testing.T, respond func(ceRequest) ceResponse) *ceServer {
	t.Helper()
	s := &ceServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			t.Errorf("Cost Explorer request %s %s, want POST /", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("X-Amz-Target"); got != "AWSInsightsIndexService.GetCostAndUsage" {
			t.Errorf("X-Amz-Target = %q, want AWSInsightsIndexService.GetCostAndUsage", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q, want application/x-amz-json-1.1", got)
		}
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(got, "/us-east-1/ce/aws4_request") {
			t.Errorf("Authorization = %q, want a SigV4 signature for ce in us-east-1", got)
		}
		var req ceRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request body %s: %v", body, err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		resp := respond(req)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", "3f1c9c1e-0000-4000-8000-000000000001")
		w.WriteHeader(resp.status)
		io.WriteString(w, resp.body)
	}))
	t.Cleanup(srv.Close)
	s.client = costexplorer.New(costexplorer.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      staticCreds,
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return s
}

func (s *ceServer) calls() []ceRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ceRequest(nil), s.requests...)
}

var staticCreds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
})

// snsServer is an httptest server speaking SNS's query protocol.
type snsServer struct {
	mu     sync.Mutex
	forms  []map[string][]string
	client *sns.Client
}

func newSNSServer(t *testing.T, status int, body string) *snsServer {
	t.Helper()
	s := &snsServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("SNS request method %s, want POST", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			t.Errorf("SNS Content-Type = %q, want form-encoded", ct)
		}
		if got := r.Header.Get("Authorization"); !strings.Contains(got, "/us-east-1/sns/aws4_request") {
			t.Errorf("SNS Authorization = %q, want a SigV4 signature for sns in us-east-1", got)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("SNS form: %v", err)
		}
		s.mu.Lock()
		s.forms = append(s.forms, r.PostForm)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	s.client = sns.New(sns.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      staticCreds,
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return s
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorded answers each of the report's queries from the recorded responses
// (the tenant query in two pages).
func recorded(t *testing.T) func(ceRequest) ceResponse {
	return func(r ceRequest) ceResponse {
		switch {
		case r.Granularity == "DAILY" && r.groupBy() == "DIMENSION:SERVICE":
			return ceResponse{200, testdata(t, "ce_yesterday_service.json")}
		case r.Granularity == "MONTHLY" && r.groupBy() == "DIMENSION:SERVICE":
			return ceResponse{200, testdata(t, "ce_mtd_service.json")}
		case r.Granularity == "MONTHLY" && r.groupBy() == "TAG:tenant" && r.NextPageToken == "":
			return ceResponse{200, testdata(t, "ce_mtd_tenant_page1.json")}
		case r.Granularity == "MONTHLY" && r.groupBy() == "TAG:tenant" && r.NextPageToken == "AAMA-EFRSURBSGpZQlpJNHdGZHlKeXdnMUNQbFl2bjdsNkN5WW1jUQ":
			return ceResponse{200, testdata(t, "ce_mtd_tenant_page2.json")}
		}
		t.Errorf("unexpected Cost Explorer request %+v", r)
		return ceResponse{400, `{"__type":"ValidationException","Message":"unexpected"}`}
	}
}

func at(s string) func() time.Time {
	return func() time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
}

func prodConfig(now string) Config {
	return Config{
		Stack: "prod", Environment: "prod",
		BudgetUSD: 1500, EstimateUSD: 1234.56, CeilingUSD: 1700,
		TopicArn: "arn:aws:sns:us-east-1:123456789012:platform-alerts",
		Now:      at(now),
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.000001 {
		t.Errorf("%s = %.7f, want %.7f", what, got, want)
	}
}

// ---- tests ----

func TestBuildRecordedRequests(t *testing.T) {
	ce := newCEServer(t, recorded(t))
	r, err := New(prodConfig("2026-06-16T07:30:00Z"), Clients{CostExplorer: ce.client})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := ce.calls()
	type want struct {
		start, end, granularity, groupBy, token string
	}
	wants := []want{
		{"2026-06-15", "2026-06-16", "DAILY", "DIMENSION:SERVICE", ""},
		{"2026-06-01", "2026-06-16", "MONTHLY", "DIMENSION:SERVICE", ""},
		{"2026-06-01", "2026-06-16", "MONTHLY", "TAG:tenant", ""},
		{"2026-06-01", "2026-06-16", "MONTHLY", "TAG:tenant", "AAMA-EFRSURBSGpZQlpJNHdGZHlKeXdnMUNQbFl2bjdsNkN5WW1jUQ"},
	}
	if len(calls) != len(wants) {
		t.Fatalf("%d Cost Explorer requests, want %d: %+v", len(calls), len(wants), calls)
	}
	for i, w := range wants {
		c := calls[i]
		got := want{c.TimePeriod.Start, c.TimePeriod.End, c.Granularity, c.groupBy(), c.NextPageToken}
		if got != w {
			t.Errorf("request %d = %+v, want %+v", i, got, w)
		}
		if len(c.Metrics) != 1 || c.Metrics[0] != "UnblendedCost" {
			t.Errorf("request %d Metrics = %v, want [UnblendedCost]", i, c.Metrics)
		}
		tags := c.Filter.Tags
		if tags == nil || tags.Key != "stack" || len(tags.Values) != 1 || tags.Values[0] != "prod" ||
			len(tags.MatchOptions) != 1 || tags.MatchOptions[0] != "EQUALS" {
			t.Errorf("request %d Filter.Tags = %+v, want stack EQUALS [prod]", i, tags)
		}
	}
}

func TestBuildRecordedReport(t *testing.T) {
	ce := newCEServer(t, recorded(t))
	r, err := New(prodConfig("2026-06-16T07:30:00Z"), Clients{CostExplorer: ce.client})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	near(t, "YesterdayUSD", rep.YesterdayUSD, 44.7389147978)
	near(t, "MTDUSD", rep.MTDUSD, 665.5800012)
	near(t, "ForecastUSD", rep.ForecastUSD, 665.5800012*30/15)
	near(t, "MTDPercent", rep.MTDPercent, 665.5800012/1500*100)
	near(t, "ForecastPercent", rep.ForecastPercent, 1331.1600024/1500*100)
	if rep.Status != StatusOK {
		t.Errorf("Status = %s, want OK (forecast 88.7 %%)", rep.Status)
	}
	if !rep.Estimated {
		t.Error("Estimated = false; the recorded responses are marked Estimated")
	}
	p := rep.Periods
	if p.DaysElapsed != 15 || p.DaysInMonth != 30 || p.PreviousMonth {
		t.Errorf("periods = %+v, want 15 of 30 days of June", p)
	}

	wantServices := []Line{
		{"Amazon Elastic Compute Cloud - Compute", 301.25, 20.4501234},
		{"Amazon Relational Database Service", 148.07, 9.8712},
		{"Amazon ElastiCache", 79.2, 5.2799},
		{"EC2 - Other", 61.8, 4.12},
		{"Amazon Elastic Container Service for Kubernetes", 50, 3.3333333333},
	}
	if len(rep.Services) != len(wantServices) {
		t.Fatalf("Services = %+v, want top 5", rep.Services)
	}
	for i, w := range wantServices {
		g := rep.Services[i]
		if g.Name != w.Name {
			t.Errorf("service %d = %q, want %q", i, g.Name, w.Name)
		}
		near(t, w.Name+" MTD", g.USD, w.USD)
		near(t, w.Name+" yesterday", g.YesterdayUSD, w.YesterdayUSD)
	}
	// VPC, CloudWatch, KMS; S3's $0.0000012 is below half a cent and dropped.
	if o := rep.OtherServices; o.Count != 3 {
		t.Errorf("OtherServices = %+v, want 3 services", o)
	}
	near(t, "OtherServices.USD", rep.OtherServices.USD, 18+6.78+0.48)

	wantTenants := []Line{
		{Name: UntaggedName, USD: 520.1000012},
		{Name: "acme", USD: 60.25},
		{Name: "globex", USD: 30},
		{Name: "initech", USD: 25.03}, // from the second page
		{Name: "umbrella", USD: 12.2},
	}
	if len(rep.Tenants) != len(wantTenants) {
		t.Fatalf("Tenants = %+v, want top 5", rep.Tenants)
	}
	for i, w := range wantTenants {
		if rep.Tenants[i].Name != w.Name {
			t.Errorf("tenant %d = %q, want %q", i, rep.Tenants[i].Name, w.Name)
		}
		near(t, w.Name, rep.Tenants[i].USD, w.USD)
	}
	if o := rep.OtherTenants; o.Count != 2 || math.Abs(o.USD-18) > 1e-9 {
		t.Errorf("OtherTenants = %+v, want 2 tenants, $18", o)
	}

	text := rep.Text()
	for _, want := range []string{
		"AWS cost report for stack prod (environment prod), Tue 16 Jun 2026",
		"Status: OK - month-end forecast is 88.7% of the budget",
		"Yesterday (15 Jun):  $44.74",
		"Month to date (1 Jun-15 Jun, 15 of 30 days):  $665.58 = 44.4% of the $1,500.00 budget",
		"Forecast for June 2026 (linear):  $1,331.16 = 88.7% of budget, 78.3% of the $1,700.00 ceiling",
		"Review estimate (monthly_usd):  $1,234.56; the forecast is $96.60 (7.8%) above it",
		"Amazon Elastic Compute Cloud - Compute",
		"3 other services",
		"(untagged/shared)",
		"2 other tenants",
		"may still change",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Text() lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Amazon Simple Storage Service") {
		t.Errorf("Text() lists a sub-cent service:\n%s", text)
	}
	subj := rep.Subject()
	if want := "[prod prod] AWS cost OK: MTD $666 (44.4% of budget), forecast $1,331 (88.7%)"; subj != want {
		t.Errorf("Subject() = %q, want %q", subj, want)
	}
}

// fakeCE answers every query with one group of the given month-to-date amount
// (split in parts to exercise float sums), as a test double of AWS.
type fakeCE struct {
	mtdParts []string
	pages    map[string]*costexplorer.GetCostAndUsageOutput // by NextPageToken, for pagination tests
	inputs   []*costexplorer.GetCostAndUsageInput
}

func (f *fakeCE) GetCostAndUsage(_ context.Context, in *costexplorer.GetCostAndUsageInput, _ ...func(*costexplorer.Options)) (*costexplorer.GetCostAndUsageOutput, error) {
	cp := *in
	f.inputs = append(f.inputs, &cp)
	if f.pages != nil {
		return f.pages[aws.ToString(in.NextPageToken)], nil
	}
	key := "Amazon Elastic Compute Cloud - Compute"
	if in.GroupBy[0].Type == cetypes.GroupDefinitionTypeTag {
		key = "tenant$"
	}
	var groups []cetypes.Group
	for _, a := range f.mtdParts {
		if in.Granularity == cetypes.GranularityDaily {
			a = "1"
		}
		groups = append(groups, cetypes.Group{Keys: []string{key}, Metrics: map[string]cetypes.MetricValue{
			"UnblendedCost": {Amount: aws.String(a), Unit: aws.String("USD")},
		}})
	}
	return &costexplorer.GetCostAndUsageOutput{ResultsByTime: []cetypes.ResultByTime{{Groups: groups}}}, nil
}

func (f *fakeCE) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return nil, errors.New("fakeCE does not publish")
}

func TestStatusThresholds(t *testing.T) {
	for _, tc := range []struct {
		now    string
		budget float64
		mtd    []string
		want   Status
	}{
		// June 16th: 15 of 30 days elapsed, forecast = 2 x MTD. Budget $600.
		{"2026-06-16T08:00:00Z", 600, []string{"269.99"}, StatusOK},
		{"2026-06-16T08:00:00Z", 600, []string{"270"}, StatusWarn},            // forecast exactly 90 %
		{"2026-06-16T08:00:00Z", 600, []string{"90.1", "179.9"}, StatusWarn},  // 270 as a float sum
		{"2026-06-16T08:00:00Z", 600, []string{"599.99"}, StatusWarn},         // forecast 200 %, MTD 99.998 %
		{"2026-06-16T08:00:00Z", 600, []string{"600.00"}, StatusOver},         // MTD exactly 100 %
		{"2026-06-16T08:00:00Z", 600, []string{"200.1", "399.9"}, StatusOver}, // 600 as a float sum
		{"2026-06-16T08:00:00Z", 600, []string{"1199.99"}, StatusOver},
		{"2026-06-16T08:00:00Z", 600, []string{"1200"}, StatusEmergency}, // MTD exactly 200 %
		{"2026-06-16T08:00:00Z", 600, []string{"5000"}, StatusEmergency},
		// July 8th: 7 of 31 days; 90 % of $620 is $558 = 126 / 7 x 31.
		{"2026-07-08T08:00:00Z", 620, []string{"125.99"}, StatusOK},
		{"2026-07-08T08:00:00Z", 620, []string{"126"}, StatusWarn},
		// Credits can make a month negative.
		{"2026-06-16T08:00:00Z", 600, []string{"-12.5"}, StatusOK},
	} {
		name := fmt.Sprintf("%s/%v/%s", tc.now[:10], tc.budget, strings.Join(tc.mtd, "+"))
		t.Run(name, func(t *testing.T) {
			cfg := Config{Stack: "dev", Environment: "dev", BudgetUSD: tc.budget, Now: at(tc.now)}
			r, err := New(cfg, &fakeCE{mtdParts: tc.mtd})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := r.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != tc.want {
				t.Errorf("Status = %s, want %s (MTD %.2f = %.4f %%, forecast %.4f %%)", rep.Status, tc.want, rep.MTDUSD, rep.MTDPercent, rep.ForecastPercent)
			}
			if !strings.Contains(rep.Text(), "Status: "+string(tc.want)+" - ") || !strings.Contains(rep.Subject(), "AWS cost "+string(tc.want)+":") {
				t.Errorf("status %s not shown:\n%s\n%s", tc.want, rep.Subject(), rep.Text())
			}
		})
	}
}

func TestStatusReasonNamesBreakerLevel(t *testing.T) {
	for status, want := range map[Status]string{
		StatusOK:        "warning at 90 %",
		StatusWarn:      ">= 90 %: breaker level warn",
		StatusOver:      ">= 100 %: breaker level freeze",
		StatusEmergency: ">= 200 %: breaker level emergency",
	} {
		r := &Report{Status: status}
		if got := r.statusReason(); !strings.Contains(got, want) {
			t.Errorf("%s: reason %q lacks %q", status, got, want)
		}
	}
}

func TestPeriodsAt(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	for _, tc := range []struct {
		now                        string
		yesterday, monthStart, end string
		elapsed, inMonth           int
		previousMonth              bool
	}{
		{"2026-06-16T07:30:00Z", "2026-06-15", "2026-06-01", "2026-06-16", 15, 30, false},
		{"2026-06-02T00:00:00Z", "2026-06-01", "2026-06-01", "2026-06-02", 1, 30, false},
		{"2026-06-30T23:59:59Z", "2026-06-29", "2026-06-01", "2026-06-30", 29, 30, false},
		// The 1st: the whole previous month.
		{"2026-07-01T06:00:00Z", "2026-06-30", "2026-06-01", "2026-07-01", 30, 30, true},
		{"2027-01-01T00:00:00Z", "2026-12-31", "2026-12-01", "2027-01-01", 31, 31, true},
		{"2028-03-01T05:00:00Z", "2028-02-29", "2028-02-01", "2028-03-01", 29, 29, true},
		{"2027-03-01T05:00:00Z", "2027-02-28", "2027-02-01", "2027-03-01", 28, 28, true},
		// Cost Explorer days are UTC: 01:00 on the 1st in UTC+3 is still the 31st in UTC.
		{"2026-08-01T01:00:00+03:00", "2026-07-30", "2026-07-01", "2026-07-31", 30, 31, false},
		// 23:00 on the 31st in UTC-2 is already the 1st in UTC.
		{"2026-07-31T23:00:00-02:00", "2026-07-31", "2026-07-01", "2026-08-01", 31, 31, true},
	} {
		p := PeriodsAt(at(tc.now)())
		if !p.YesterdayStart.Equal(d(tc.yesterday)) || !p.Today.Equal(p.YesterdayStart.AddDate(0, 0, 1)) ||
			!p.MonthStart.Equal(d(tc.monthStart)) || !p.MonthEnd.Equal(d(tc.end)) ||
			p.DaysElapsed != tc.elapsed || p.DaysInMonth != tc.inMonth || p.PreviousMonth != tc.previousMonth {
			t.Errorf("PeriodsAt(%s) = yesterday %s, month [%s, %s) %d of %d days, previous %v; want %s, [%s, %s) %d of %d, %v",
				tc.now, p.YesterdayStart.Format(ceDate), p.MonthStart.Format(ceDate), p.MonthEnd.Format(ceDate), p.DaysElapsed, p.DaysInMonth, p.PreviousMonth,
				tc.yesterday, tc.monthStart, tc.end, tc.elapsed, tc.inMonth, tc.previousMonth)
		}
	}
}

func TestBuildMonthStartUsesPreviousMonth(t *testing.T) {
	ce := newCEServer(t, func(r ceRequest) ceResponse {
		amount := "1200" // whole June
		if r.Granularity == "DAILY" {
			amount = "40"
		}
		key := "Amazon Relational Database Service"
		if r.groupBy() == "TAG:tenant" {
			key = "tenant$acme"
		}
		return ceResponse{200, fmt.Sprintf(`{"GroupDefinitions":[],"ResultsByTime":[{"TimePeriod":{"Start":%q,"End":%q},"Total":{},
			"Groups":[{"Keys":[%q],"Metrics":{"UnblendedCost":{"Amount":%q,"Unit":"USD"}}}],"Estimated":false}],"DimensionValueAttributes":[]}`,
			r.TimePeriod.Start, r.TimePeriod.End, key, amount)}
	})
	r, err := New(prodConfig("2026-07-01T06:00:00Z"), Clients{CostExplorer: ce.client})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	calls := ce.calls()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3", len(calls))
	}
	if c := calls[0]; c.TimePeriod.Start != "2026-06-30" || c.TimePeriod.End != "2026-07-01" || c.Granularity != "DAILY" {
		t.Errorf("yesterday request = %+v, want DAILY 2026-06-30..2026-07-01", c)
	}
	for _, c := range calls[1:] {
		if c.TimePeriod.Start != "2026-06-01" || c.TimePeriod.End != "2026-07-01" || c.Granularity != "MONTHLY" {
			t.Errorf("month request = %+v, want MONTHLY 2026-06-01..2026-07-01 (all of June)", c)
		}
	}
	if !rep.Periods.PreviousMonth || rep.Periods.DaysElapsed != 30 || rep.Periods.DaysInMonth != 30 {
		t.Errorf("periods = %+v, want the whole previous month", rep.Periods)
	}
	near(t, "ForecastUSD", rep.ForecastUSD, 1200) // a finished month forecasts itself
	if rep.Status != StatusOK {
		t.Errorf("Status = %s, want OK (all of June at 80 %% of budget)", rep.Status)
	}
	if text := rep.Text(); !strings.Contains(text, "June 2026 (whole month, today is the 1st):  $1,200.00 = 80.0% of the $1,500.00 budget") {
		t.Errorf("Text() does not say it reports the whole of June:\n%s", text)
	}
	if len(rep.Tenants) != 1 || rep.Tenants[0].Name != "acme" {
		t.Errorf("Tenants = %+v, want acme", rep.Tenants)
	}
}

func TestBuildAPIErrorNamesTheCall(t *testing.T) {
	ce := newCEServer(t, func(r ceRequest) ceResponse {
		if r.groupBy() == "TAG:tenant" {
			return ceResponse{400, testdata(t, "ce_error_data_unavailable.json")}
		}
		return recorded(t)(r)
	})
	r, err := New(prodConfig("2026-06-16T07:30:00Z"), Clients{CostExplorer: ce.client})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Build(context.Background())
	if err == nil {
		t.Fatalf("Build succeeded with a failing Cost Explorer call: %+v", rep)
	}
	for _, want := range []string{"Cost Explorer GetCostAndUsage", "month-to-date by tag tenant", "2026-06-01..2026-06-16", "DataUnavailableException"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	var du *cetypes.DataUnavailableException
	if !errors.As(err, &du) {
		t.Errorf("error %v does not wrap the SDK's DataUnavailableException", err)
	}
}

func TestBuildRejectsNonUSDAndBadAmounts(t *testing.T) {
	for _, tc := range []struct{ amount, unit, want string }{
		{"12.5", "EUR", "in EUR"},
		{"twelve", "USD", "not a number"},
	} {
		ce := newCEServer(t, func(r ceRequest) ceResponse {
			return ceResponse{200, fmt.Sprintf(`{"ResultsByTime":[{"Total":{},"Groups":[{"Keys":["Amazon ElastiCache"],"Metrics":{"UnblendedCost":{"Amount":%q,"Unit":%q}}}]}]}`, tc.amount, tc.unit)}
		})
		r, _ := New(prodConfig("2026-06-16T07:30:00Z"), Clients{CostExplorer: ce.client})
		if _, err := r.Build(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "yesterday by service") {
			t.Errorf("amount %s %s: err = %v, want one naming the query and %q", tc.amount, tc.unit, err, tc.want)
		}
	}
}

func TestPaginationEndsOnRepeatedToken(t *testing.T) {
	loop := &costexplorer.GetCostAndUsageOutput{NextPageToken: aws.String("again")}
	f := &fakeCE{pages: map[string]*costexplorer.GetCostAndUsageOutput{"": loop, "again": loop}}
	r, _ := New(Config{Stack: "dev", BudgetUSD: 600, Now: at("2026-06-16T08:00:00Z")}, f)
	_, err := r.Build(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pagination did not end") {
		t.Fatalf("err = %v, want pagination error", err)
	}
	if len(f.inputs) != 2 {
		t.Errorf("%d requests, want 2 (the token repeats on the second)", len(f.inputs))
	}
}

func TestNoSpendSuggestsTagActivation(t *testing.T) {
	r, _ := New(Config{Stack: "dev", BudgetUSD: 600, Now: at("2026-06-16T08:00:00Z")}, &fakeCE{})
	rep, err := r.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.MTDUSD != 0 || rep.Status != StatusOK {
		t.Errorf("empty report = %+v", rep)
	}
	if text := rep.Text(); !strings.Contains(text, `check that "stack" is an active cost allocation tag`) || !strings.Contains(text, "Review estimate:  not configured (ESTIMATE_USD)") {
		t.Errorf("Text() lacks the tag hint or the missing-estimate line:\n%s", text)
	}
}

func TestPublishSendsSubjectAndMessage(t *testing.T) {
	ce := newCEServer(t, recorded(t))
	srv := newSNSServer(t, 200, testdata(t, "sns_publish.xml"))
	r, err := New(prodConfig("2026-06-16T07:30:00Z"), Clients{CostExplorer: ce.client, SNS: srv.client})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.Publish(context.Background(), rep)
	if err != nil {
		t.Fatal(err)
	}
	if id != "567910cd-659e-55d4-8ccb-5aaf14679dc0" {
		t.Errorf("message ID = %q", id)
	}
	if len(srv.forms) != 1 {
		t.Fatalf("%d SNS requests, want 1", len(srv.forms))
	}
	form := srv.forms[0]
	want := map[string]string{
		"Action":   "Publish",
		"Version":  "2010-03-31",
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:platform-alerts",
		"Subject":  rep.Subject(),
		"Message":  rep.Text(),
	}
	for k, v := range want {
		if got := form[k]; len(got) != 1 || got[0] != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	for k := range form {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected form field %s = %q", k, form[k])
		}
	}
}

func TestPublishErrorNamesTheCall(t *testing.T) {
	srv := newSNSServer(t, 403, testdata(t, "sns_error_authorization.xml"))
	r, _ := New(prodConfig("2026-06-16T07:30:00Z"), Clients{SNS: srv.client})
	_, err := r.Publish(context.Background(), &Report{Stack: "prod", BudgetUSD: 1500})
	if err == nil || !strings.Contains(err.Error(), "SNS Publish to arn:aws:sns:us-east-1:123456789012:platform-alerts") || !strings.Contains(err.Error(), "AuthorizationError") {
		t.Errorf("err = %v, want one naming SNS Publish, the topic and AuthorizationError", err)
	}

	noTopic := prodConfig("2026-06-16T07:30:00Z")
	noTopic.TopicArn = ""
	r, _ = New(noTopic, Clients{SNS: srv.client})
	if _, err := r.Publish(context.Background(), &Report{}); err == nil || !strings.Contains(err.Error(), "no topic ARN") {
		t.Errorf("Publish without a topic: err = %v", err)
	}
}

func TestSubjectFitsSNS(t *testing.T) {
	rep := &Report{
		Environment: "prod", Stack: strings.Repeat("very-long-stack-name-", 8),
		Status: StatusEmergency, MTDUSD: 1234567.891, ForecastUSD: 9876543.21, MTDPercent: 82304.5, ForecastPercent: 658436.2,
	}
	s := rep.Subject()
	if len(s) > 99 || strings.ContainsAny(s, "\r\n") {
		t.Errorf("Subject() = %q (%d chars), want < 100 chars on one line", s, len(s))
	}
	if !strings.HasSuffix(s, "AWS cost EMERGENCY: MTD $1,234,568 (82304.5% of budget), forecast $9,876,543 (658436.2%)") {
		t.Errorf("Subject() = %q: the figures must survive a long stack name", s)
	}
	rep.Stack = "prød\nstack"
	if s := rep.Subject(); strings.ContainsAny(s, "\r\n") || strings.ContainsFunc(s, func(r rune) bool { return r > 0x7e }) {
		t.Errorf("Subject() = %q, want printable ASCII", s)
	}
}

func TestMoneyFormat(t *testing.T) {
	for x, want := range map[float64]string{
		0: "$0.00", 0.004: "$0.00", -0.004: "$0.00", 1.5: "$1.50", 999.999: "$1,000.00",
		1234.5: "$1,234.50", 1234567.891: "$1,234,567.89", -1234.5: "-$1,234.50",
	} {
		if got := usd(x); got != want {
			t.Errorf("usd(%v) = %q, want %q", x, got, want)
		}
	}
	if got := usd0(1331.16); got != "$1,331" {
		t.Errorf("usd0 = %q", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{BudgetUSD: 0, EstimateUSD: -1}, nil)
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"no AWS clients", "Stack is required", "BudgetUSD", "EstimateUSD"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	r, err := New(Config{Stack: "dev", BudgetUSD: 1}, &fakeCE{})
	if err != nil || r.cfg.TenantTagKey != "tenant" || r.cfg.Now == nil {
		t.Errorf("defaults not applied: %+v, %v", r, err)
	}
}

func TestLoadEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	good := map[string]string{
		"STACK": "prod", "ENVIRONMENT": "prod", "MONTHLY_BUDGET_USD": "1500", "ESTIMATE_USD": "1234.56",
		"CEILING_USD": "1700", "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:platform-alerts", "AWS_REGION": "us-east-1",
	}
	e, err := LoadEnv(env(good), false)
	if err != nil {
		t.Fatal(err)
	}
	if e.Stack != "prod" || e.Environment != "prod" || e.BudgetUSD != 1500 || e.EstimateUSD != 1234.56 || e.CeilingUSD != 1700 ||
		e.TopicArn != good["ALERTS_TOPIC_ARN"] || e.Region != "us-east-1" {
		t.Errorf("LoadEnv = %+v", e)
	}

	// Every bad variable at once, each named with its fix.
	_, err = LoadEnv(env(map[string]string{
		"STACK": "prod stack", "ENVIRONMENT": "staging", "MONTHLY_BUDGET_USD": "lots", "ESTIMATE_USD": "-3",
		"CEILING_USD": "x", "ALERTS_TOPIC_ARN": "platform-alerts", "AWS_REGION": "US East",
	}), false)
	if err == nil {
		t.Fatal("LoadEnv accepted bad values")
	}
	for _, name := range []string{"STACK", "ENVIRONMENT", "MONTHLY_BUDGET_USD", "ESTIMATE_USD", "CEILING_USD", "ALERTS_TOPIC_ARN", "AWS_REGION"} {
		if !strings.Contains(err.Error(), name+": ") {
			t.Errorf("error lacks %s:\n%v", name, err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 7 {
		t.Errorf("%d problems reported, want 7:\n%v", n, err)
	}

	// Nothing set: the required ones are named; -dry-run needs no topic.
	_, err = LoadEnv(env(nil), false)
	for _, name := range []string{"STACK", "ENVIRONMENT", "MONTHLY_BUDGET_USD", "ALERTS_TOPIC_ARN", "AWS_REGION"} {
		if err == nil || !strings.Contains(err.Error(), name+": required") {
			t.Errorf("error lacks %s: required:\n%v", name, err)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "ESTIMATE_USD") || strings.Contains(err.Error(), "CEILING_USD")) {
		t.Errorf("optional variables reported as missing:\n%v", err)
	}
	dry := map[string]string{}
	for k, v := range good {
		dry[k] = v
	}
	delete(dry, "ALERTS_TOPIC_ARN")
	if _, err := LoadEnv(env(dry), true); err != nil {
		t.Errorf("dry run without a topic: %v", err)
	}

	low := map[string]string{}
	for k, v := range good {
		low[k] = v
	}
	low["CEILING_USD"] = "1000"
	if _, err := LoadEnv(env(low), false); err == nil || !strings.Contains(err.Error(), "CEILING_USD: 1000 is below MONTHLY_BUDGET_USD") {
		t.Errorf("ceiling below budget: err = %v", err)
	}
}

func TestNewClientsSendsSNSToTheTopicRegion(t *testing.T) {
	c := NewClients(aws.Config{Region: "eu-west-1"}, "arn:aws:sns:us-east-1:123456789012:platform-alerts")
	if got := c.SNS.Options().Region; got != "us-east-1" {
		t.Errorf("SNS region = %q, want the topic's us-east-1", got)
	}
	if got := c.CostExplorer.Options().Region; got != "eu-west-1" {
		t.Errorf("Cost Explorer region = %q, want AWS_REGION's (the SDK resolves its global endpoint)", got)
	}
}
