// Package costreport builds the daily AWS cost report of one stack from Cost
// Explorer and publishes it to an SNS topic (the CEO's email is subscribed to
// it by the platform). Run by service/cmd/costreport from a CronJob; see
// README.md beside this file for its environment and IAM permissions.
package costreport

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Metric is the Cost Explorer metric the report reads: what AWS charged before
// credits and discounts are spread (the same basis as AWS Budgets' default).
const Metric = "UnblendedCost"

// StackTagKey is the tag every platform resource carries with its stack name.
const StackTagKey = "stack"

// UntaggedName labels spend that carries no tenant tag (shared infrastructure).
const UntaggedName = "(untagged/shared)"

// maxPages bounds pagination so a misbehaving token cannot loop forever.
const maxPages = 100

// Config is what a report needs. Budget and estimate are monthly USD.
type Config struct {
	Stack       string
	Environment string
	BudgetUSD   float64 // the stack's monthly budget (breakers at 90/100/200 %)
	EstimateUSD float64 // the offline review's monthly_usd; 0: no comparison
	CeilingUSD  float64 // the stack's monthly ceiling; 0: not shown
	TopicArn    string  // SNS topic Publish sends to
	// TenantTagKey is the cost allocation tag naming a tenant (default "tenant").
	TenantTagKey string
	Now          func() time.Time // default time.Now
}

// CostExplorerAPI is the one Cost Explorer call the report makes.
type CostExplorerAPI interface {
	GetCostAndUsage(ctx context.Context, in *costexplorer.GetCostAndUsageInput, optFns ...func(*costexplorer.Options)) (*costexplorer.GetCostAndUsageOutput, error)
}

// SNSAPI is the one SNS call the report makes.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// AWS is every AWS call the report makes; Clients (the real SDK clients)
// implements it, and so can a test double.
type AWS interface {
	CostExplorerAPI
	SNSAPI
}

// Clients pairs the SDK clients into an AWS.
type Clients struct {
	CostExplorer *costexplorer.Client
	SNS          *sns.Client
}

func (c Clients) GetCostAndUsage(ctx context.Context, in *costexplorer.GetCostAndUsageInput, optFns ...func(*costexplorer.Options)) (*costexplorer.GetCostAndUsageOutput, error) {
	if c.CostExplorer == nil {
		return nil, errors.New("no Cost Explorer client")
	}
	return c.CostExplorer.GetCostAndUsage(ctx, in, optFns...)
}

func (c Clients) Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if c.SNS == nil {
		return nil, errors.New("no SNS client")
	}
	return c.SNS.Publish(ctx, in, optFns...)
}

// NewClients builds the SDK clients from a loaded aws.Config. Cost Explorer
// resolves its single endpoint (us-east-1 in the aws partition) from any
// region; SNS is sent to the topic's own region, read from its ARN, since a
// topic can only be published to in its region.
func NewClients(cfg aws.Config, topicArn string) Clients {
	return Clients{
		CostExplorer: costexplorer.NewFromConfig(cfg),
		SNS: sns.NewFromConfig(cfg, func(o *sns.Options) {
			if r := topicRegion(topicArn); r != "" {
				o.Region = r
			}
		}),
	}
}

// topicRegion is the region field of an SNS topic ARN, "" if it has none.
func topicRegion(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "sns" {
		return ""
	}
	return parts[3]
}

// Reporter builds and publishes reports.
type Reporter struct {
	cfg Config
	aws AWS
}

// New validates cfg and returns a Reporter calling AWS through api.
func New(cfg Config, api AWS) (*Reporter, error) {
	var errs []error
	if api == nil {
		errs = append(errs, errors.New("no AWS clients"))
	}
	if strings.TrimSpace(cfg.Stack) == "" {
		errs = append(errs, errors.New("Stack is required (the value of the stack tag)"))
	}
	if !(cfg.BudgetUSD > 0) || math.IsInf(cfg.BudgetUSD, 0) {
		errs = append(errs, fmt.Errorf("BudgetUSD must be a positive number, got %v", cfg.BudgetUSD))
	}
	if !(cfg.EstimateUSD >= 0) || math.IsInf(cfg.EstimateUSD, 0) {
		errs = append(errs, fmt.Errorf("EstimateUSD must be 0 (none) or positive, got %v", cfg.EstimateUSD))
	}
	if !(cfg.CeilingUSD >= 0) || math.IsInf(cfg.CeilingUSD, 0) {
		errs = append(errs, fmt.Errorf("CeilingUSD must be 0 (none) or positive, got %v", cfg.CeilingUSD))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("costreport config: %w", err)
	}
	if cfg.TenantTagKey == "" {
		cfg.TenantTagKey = "tenant"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reporter{cfg: cfg, aws: api}, nil
}

// Periods are the Cost Explorer date ranges of one report. Cost Explorer days
// are UTC days; every End is exclusive.
type Periods struct {
	Today          time.Time // UTC midnight of the day the report runs
	YesterdayStart time.Time // Today - 1 day; yesterday is [YesterdayStart, Today)
	MonthStart     time.Time // 1st of the month reported on
	MonthEnd       time.Time // exclusive end of the month-to-date range (= Today)
	DaysElapsed    int       // whole days in [MonthStart, MonthEnd)
	DaysInMonth    int
	// PreviousMonth is set on the 1st of a month: there is no complete day of
	// the new month yet (and Cost Explorer rejects Start == End), so the report
	// covers the whole previous month instead.
	PreviousMonth bool
}

// PeriodsAt computes the report's ranges for a run at now (any time zone).
func PeriodsAt(now time.Time) Periods {
	u := now.UTC()
	today := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	p := Periods{
		Today:          today,
		YesterdayStart: today.AddDate(0, 0, -1),
		MonthStart:     time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC),
		MonthEnd:       today,
	}
	if today.Equal(p.MonthStart) {
		p.PreviousMonth = true
		p.MonthStart = p.MonthStart.AddDate(0, -1, 0)
	}
	p.DaysElapsed = days(p.MonthStart, p.MonthEnd)
	p.DaysInMonth = days(p.MonthStart, p.MonthStart.AddDate(0, 1, 0))
	return p
}

func days(from, to time.Time) int { return int(to.Sub(from) / (24 * time.Hour)) }

const ceDate = "2006-01-02"

// query is one GetCostAndUsage request of the report, named for errors.
type query struct {
	name  string
	input costexplorer.GetCostAndUsageInput
}

func (r *Reporter) queries(p Periods) (yesterday, mtdService, mtdTenant query) {
	stackFilter := &cetypes.Expression{Tags: &cetypes.TagValues{
		Key:          aws.String(StackTagKey),
		Values:       []string{r.cfg.Stack},
		MatchOptions: []cetypes.MatchOption{cetypes.MatchOptionEquals},
	}}
	byService := []cetypes.GroupDefinition{{Type: cetypes.GroupDefinitionTypeDimension, Key: aws.String("SERVICE")}}
	byTenant := []cetypes.GroupDefinition{{Type: cetypes.GroupDefinitionTypeTag, Key: aws.String(r.cfg.TenantTagKey)}}
	month := &cetypes.DateInterval{Start: aws.String(p.MonthStart.Format(ceDate)), End: aws.String(p.MonthEnd.Format(ceDate))}
	yesterday = query{"yesterday by service", costexplorer.GetCostAndUsageInput{
		TimePeriod:  &cetypes.DateInterval{Start: aws.String(p.YesterdayStart.Format(ceDate)), End: aws.String(p.Today.Format(ceDate))},
		Granularity: cetypes.GranularityDaily,
		Metrics:     []string{Metric},
		GroupBy:     byService,
		Filter:      stackFilter,
	}}
	mtdService = query{"month-to-date by service", costexplorer.GetCostAndUsageInput{
		TimePeriod:  month,
		Granularity: cetypes.GranularityMonthly,
		Metrics:     []string{Metric},
		GroupBy:     byService,
		Filter:      stackFilter,
	}}
	mtdTenant = query{"month-to-date by tag " + r.cfg.TenantTagKey, costexplorer.GetCostAndUsageInput{
		TimePeriod:  month,
		Granularity: cetypes.GranularityMonthly,
		Metrics:     []string{Metric},
		GroupBy:     byTenant,
		Filter:      stackFilter,
	}}
	return
}

// result is one query's spend summed over its time buckets and pages.
type result struct {
	byKey     map[string]float64
	total     float64
	estimated bool // Cost Explorer marked some figures as not final
}

// fetch runs q, following NextPageToken, and sums UnblendedCost per group key.
func (r *Reporter) fetch(ctx context.Context, q query) (result, error) {
	res := result{byKey: map[string]float64{}}
	in := q.input
	where := fmt.Sprintf("Cost Explorer GetCostAndUsage (%s, %s..%s)", q.name, aws.ToString(in.TimePeriod.Start), aws.ToString(in.TimePeriod.End))
	seen := map[string]bool{}
	for page := 1; ; page++ {
		out, err := r.aws.GetCostAndUsage(ctx, &in)
		if err != nil {
			return res, fmt.Errorf("%s page %d: %w", where, page, err)
		}
		for _, rt := range out.ResultsByTime {
			res.estimated = res.estimated || rt.Estimated
			for _, g := range rt.Groups {
				amt, err := amount(g.Metrics)
				if err != nil {
					return res, fmt.Errorf("%s group %q: %w", where, strings.Join(g.Keys, ","), err)
				}
				res.byKey[strings.Join(g.Keys, ",")] += amt
				res.total += amt
			}
		}
		next := aws.ToString(out.NextPageToken)
		if next == "" {
			return res, nil
		}
		if seen[next] || page >= maxPages {
			return res, fmt.Errorf("%s: pagination did not end after %d pages", where, page)
		}
		seen[next] = true
		in.NextPageToken = aws.String(next)
	}
}

// amount reads the UnblendedCost of a group; amounts must be in USD since the
// budget is.
func amount(m map[string]cetypes.MetricValue) (float64, error) {
	v, ok := m[Metric]
	if !ok || v.Amount == nil {
		return 0, fmt.Errorf("no %s amount", Metric)
	}
	if u := aws.ToString(v.Unit); u != "" && u != "USD" {
		return 0, fmt.Errorf("%s is in %s, the budget is in USD", Metric, u)
	}
	f, err := strconv.ParseFloat(*v.Amount, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s amount %q is not a number", Metric, *v.Amount)
	}
	return f, nil
}

// Build queries Cost Explorer (three queries, all filtered to resources tagged
// stack=Config.Stack) and computes the report.
func (r *Reporter) Build(ctx context.Context) (*Report, error) {
	p := PeriodsAt(r.cfg.Now())
	qy, qs, qt := r.queries(p)
	yest, err := r.fetch(ctx, qy)
	if err != nil {
		return nil, err
	}
	mtd, err := r.fetch(ctx, qs)
	if err != nil {
		return nil, err
	}
	ten, err := r.fetch(ctx, qt)
	if err != nil {
		return nil, err
	}

	rep := &Report{
		Stack:        r.cfg.Stack,
		Environment:  r.cfg.Environment,
		TenantTagKey: r.cfg.TenantTagKey,
		Periods:      p,
		BudgetUSD:    r.cfg.BudgetUSD,
		EstimateUSD:  r.cfg.EstimateUSD,
		CeilingUSD:   r.cfg.CeilingUSD,
		YesterdayUSD: yest.total,
		MTDUSD:       mtd.total,
		Estimated:    yest.estimated || mtd.estimated || ten.estimated,
	}
	rep.ForecastUSD = rep.MTDUSD / float64(p.DaysElapsed) * float64(p.DaysInMonth)
	rep.MTDPercent = 100 * rep.MTDUSD / rep.BudgetUSD
	rep.ForecastPercent = 100 * rep.ForecastUSD / rep.BudgetUSD
	rep.Status = status(rep.MTDUSD, r.cfg.BudgetUSD, p.DaysElapsed, p.DaysInMonth)

	services := make([]Line, 0, len(mtd.byKey))
	for k, v := range mtd.byKey {
		services = append(services, Line{Name: k, USD: v, YesterdayUSD: yest.byKey[k]})
	}
	for k, v := range yest.byKey { // a service that appeared yesterday only (not yet in the MTD data)
		if _, ok := mtd.byKey[k]; !ok {
			services = append(services, Line{Name: k, YesterdayUSD: v})
		}
	}
	rep.Services, rep.OtherServices = top(services, 5)

	tenants := map[string]float64{}
	for k, v := range ten.byKey {
		tenants[tenantName(k, r.cfg.TenantTagKey)] += v
	}
	tl := make([]Line, 0, len(tenants))
	for k, v := range tenants {
		tl = append(tl, Line{Name: k, USD: v})
	}
	rep.Tenants, rep.OtherTenants = top(tl, 5)
	return rep, nil
}

// tenantName turns a TAG group key ("tenant$acme", or "tenant$" for spend
// without the tag) into the tenant's name.
func tenantName(key, tagKey string) string {
	v := strings.TrimPrefix(key, tagKey+"$")
	if v == "" {
		return UntaggedName
	}
	return v
}

// top sorts lines by month-to-date spend (then yesterday's, then name), drops
// lines under half a cent, and splits off the first n.
func top(lines []Line, n int) (first []Line, rest Other) {
	kept := lines[:0]
	for _, l := range lines {
		if math.Abs(l.USD) >= 0.005 || math.Abs(l.YesterdayUSD) >= 0.005 {
			kept = append(kept, l)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if a.USD != b.USD {
			return a.USD > b.USD
		}
		if a.YesterdayUSD != b.YesterdayUSD {
			return a.YesterdayUSD > b.YesterdayUSD
		}
		return a.Name < b.Name
	})
	if len(kept) <= n {
		return kept, Other{}
	}
	for _, l := range kept[n:] {
		rest.Count++
		rest.USD += l.USD
		rest.YesterdayUSD += l.YesterdayUSD
	}
	return kept[:n], rest
}

// cents rounds USD to whole cents so thresholds compare exactly.
func cents(usd float64) int64 { return int64(math.Round(usd * 100)) }

// status applies the budget breaker levels: EMERGENCY at month-to-date >= 200 %
// of budget, OVER (breaker freeze) at >= 100 %, WARN when the linear month-end
// forecast is >= 90 %, else OK. Compared in integer cents, so exactly 90, 100
// and 200 % count.
func status(mtdUSD, budgetUSD float64, elapsed, inMonth int) Status {
	m, b := cents(mtdUSD), cents(budgetUSD)
	switch {
	case m >= 2*b:
		return StatusEmergency
	case m >= b:
		return StatusOver
	case m*int64(inMonth)*10 >= b*9*int64(elapsed): // mtd/elapsed*inMonth >= 0.9*budget
		return StatusWarn
	}
	return StatusOK
}

// Publish sends the report to Config.TopicArn and returns SNS's message ID.
func (r *Reporter) Publish(ctx context.Context, rep *Report) (string, error) {
	if r.cfg.TopicArn == "" {
		return "", errors.New("SNS Publish: no topic ARN configured")
	}
	out, err := r.aws.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(r.cfg.TopicArn),
		Subject:  aws.String(rep.Subject()),
		Message:  aws.String(rep.Text()),
	})
	if err != nil {
		return "", fmt.Errorf("SNS Publish to %s: %w", r.cfg.TopicArn, err)
	}
	return aws.ToString(out.MessageId), nil
}
