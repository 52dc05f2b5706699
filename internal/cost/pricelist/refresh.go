package pricelist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/tenantco/platform/internal/cost"
)

// APIRegion is where the Price List Query API is served from (it answers
// for every region; the region priced is the regionCode filter).
const APIRegion = "us-east-1"

// Refresh rebuilds the price snapshot for region from the AWS Price List
// Query API and writes it to out in the prices.json format. It needs AWS
// credentials (pricing:GetProducts) and network access; nothing else in the
// program needs it. The rows to fetch are the rows of the embedded snapshot;
// rows the Price List cannot answer (see manualKeys) are carried over with
// their own source. A row the API does not answer, or answers ambiguously,
// is an error naming the row and its query, and nothing is written.
func Refresh(ctx context.Context, out io.Writer, region string) error {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(APIRegion))
	if err != nil {
		return fmt.Errorf("pricelist: AWS config: %w", err)
	}
	return refresh(ctx, pricing.NewFromConfig(cfg), out, region, time.Now().UTC())
}

// refresh is Refresh with the API client and clock injected (tests use an
// httptest server behind a real pricing client).
func refresh(ctx context.Context, api pricing.GetProductsAPIClient, out io.Writer, region string, now time.Time) error {
	if region == "" {
		return errors.New("pricelist: no region")
	}
	var base cost.Snapshot
	if err := json.Unmarshal(cost.EmbeddedSnapshot(), &base); err != nil {
		return fmt.Errorf("pricelist: embedded snapshot: %w", err)
	}
	asOf := now.Format(time.DateOnly)
	cache := map[string][]Product{}
	var rows []cost.PriceRow
	var errs []error
	for _, row := range base.Prices {
		if row.Region != base.Region {
			continue
		}
		sp, ok := specFor(row.Key)
		if !ok {
			if _, manual := manualKeys[row.Key]; !manual {
				errs = append(errs, fmt.Errorf("pricelist: no Price List query for row %q: add it to specFor or manualKeys", row.Key))
				continue
			}
			kept := row
			if region != base.Region {
				kept.Region = region
				kept.Source = fmt.Sprintf("carried over from the %s snapshot (not in the Price List Query API): %s", base.Region, row.Source)
				kept.Confidence = "low"
			}
			rows = append(rows, kept)
			continue
		}
		qk := sp.queryKey(region)
		products, cached := cache[qk]
		if !cached {
			var err error
			products, err = getProducts(ctx, api, sp, region)
			if err != nil {
				return fmt.Errorf("pricelist: row %q: %w", row.Key, err)
			}
			cache[qk] = products
		}
		newRow, err := pick(row, sp, products, region, asOf)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, newRow)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	snap := cost.Snapshot{
		Region:      region,
		Currency:    "USD",
		AsOf:        asOf,
		Source:      fmt.Sprintf("AWS Price List Query API (GetProducts, aws_v1, regionCode %s, on-demand first tier) via prices refresh on %s; rows whose source says otherwise were carried over", region, asOf),
		Prices:      rows,
		EKSVersions: base.EKSVersions,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snap); err != nil {
		return err
	}
	if _, err := cost.LoadSnapshot(buf.Bytes()); err != nil {
		return fmt.Errorf("pricelist: refreshed snapshot does not validate: %w", err)
	}
	_, err := out.Write(buf.Bytes())
	return err
}

// getProducts runs one GetProducts query (all pages).
func getProducts(ctx context.Context, api pricing.GetProductsAPIClient, sp spec, region string) ([]Product, error) {
	filters := []types.Filter{{Type: types.FilterTypeTermMatch, Field: aws.String("regionCode"), Value: aws.String(region)}}
	for _, f := range sp.filters {
		filters = append(filters, types.Filter{Type: types.FilterTypeTermMatch, Field: aws.String(f[0]), Value: aws.String(f[1])})
	}
	in := &pricing.GetProductsInput{
		ServiceCode:   aws.String(sp.service),
		Filters:       filters,
		FormatVersion: aws.String("aws_v1"),
		MaxResults:    aws.Int32(100),
	}
	var out []Product
	pages := pricing.NewGetProductsPaginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("GetProducts %s: %w", sp, err)
		}
		ps, err := ParseProducts(page.PriceList)
		if err != nil {
			return nil, fmt.Errorf("GetProducts %s: %w", sp, err)
		}
		out = append(out, ps...)
	}
	return out, nil
}

// pick selects the product of a row among a query's products and builds
// the refreshed row.
func pick(row cost.PriceRow, sp spec, products []Product, region, asOf string) (cost.PriceRow, error) {
	type hit struct {
		p Product
		d Dimension
	}
	var hits []hit
	for _, p := range products {
		if !sp.matches(p) {
			continue
		}
		d, err := p.OnDemandPrice()
		if err != nil {
			return cost.PriceRow{}, fmt.Errorf("pricelist: row %q: %w", row.Key, err)
		}
		if sp.unit != "" && !strings.EqualFold(d.Unit, sp.unit) {
			return cost.PriceRow{}, fmt.Errorf("pricelist: row %q: sku %s is priced per %q, want %q", row.Key, p.SKU, d.Unit, sp.unit)
		}
		hits = append(hits, hit{p, d})
	}
	if len(hits) == 0 {
		return cost.PriceRow{}, fmt.Errorf("pricelist: row %q: no product matches %s in %s (%d returned)", row.Key, sp, region, len(products))
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].p.SKU < hits[j].p.SKU })
	for _, h := range hits[1:] {
		if h.d.USD != hits[0].d.USD {
			var skus []string
			for _, h := range hits {
				skus = append(skus, fmt.Sprintf("%s %s $%v", h.p.SKU, h.p.Attributes["usagetype"], h.d.USD))
			}
			return cost.PriceRow{}, fmt.Errorf("pricelist: row %q: %s is ambiguous: %s", row.Key, sp, strings.Join(skus, "; "))
		}
	}
	h := hits[0]
	out := cost.PriceRow{
		Key:        row.Key,
		Region:     region,
		Price:      h.d.USD,
		Unit:       row.Unit,
		Source:     fmt.Sprintf("AWS Price List Query API: %s sku %s, %s, %q (publication %s)", h.p.ServiceCode, h.p.SKU, h.p.Attributes["usagetype"], h.d.Description, h.p.PublicationDate),
		AsOf:       asOf,
		Confidence: "high",
	}
	if sp.vcpu {
		v, err := strconv.Atoi(h.p.Attributes["vcpu"])
		if err != nil || v <= 0 {
			return cost.PriceRow{}, fmt.Errorf("pricelist: row %q: sku %s has no vcpu attribute", row.Key, h.p.SKU)
		}
		out.VCPU = v
	}
	return out, nil
}
