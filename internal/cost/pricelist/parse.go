// Package pricelist rebuilds internal/cost/prices.json from the AWS Price
// List Query API (GetProducts). It is only needed by `prices refresh`: the
// cost model itself reads the embedded snapshot and never calls AWS, and
// keeping this in its own package keeps the AWS SDK out of everything else.
package pricelist

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Product is one PriceList item of a GetProducts response (format aws_v1):
// a JSON document per product with its attributes and terms.
type Product struct {
	ServiceCode     string
	ProductFamily   string
	SKU             string
	Attributes      map[string]string
	OnDemand        []Dimension // every on-demand price dimension of every on-demand term
	Version         string
	PublicationDate string
}

// Dimension is one on-demand price dimension (a tier of a rate).
type Dimension struct {
	RateCode    string
	Unit        string
	Description string
	BeginRange  string
	EndRange    string
	USD         float64
}

// rawProduct mirrors the aws_v1 price list document; only what is read.
type rawProduct struct {
	Product struct {
		ProductFamily string            `json:"productFamily"`
		Attributes    map[string]string `json:"attributes"`
		SKU           string            `json:"sku"`
	} `json:"product"`
	ServiceCode string `json:"serviceCode"`
	Terms       struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				Unit         string            `json:"unit"`
				EndRange     string            `json:"endRange"`
				Description  string            `json:"description"`
				RateCode     string            `json:"rateCode"`
				BeginRange   string            `json:"beginRange"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
			SKU           string `json:"sku"`
			EffectiveDate string `json:"effectiveDate"`
			OfferTermCode string `json:"offerTermCode"`
		} `json:"OnDemand"`
	} `json:"terms"`
	Version         string `json:"version"`
	PublicationDate string `json:"publicationDate"`
}

// ParseProduct parses one PriceList document. Reserved terms are ignored;
// a dimension without a USD price is an error.
func ParseProduct(doc string) (Product, error) {
	var raw rawProduct
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return Product{}, fmt.Errorf("pricelist: parse product: %w", err)
	}
	if raw.Product.SKU == "" {
		return Product{}, fmt.Errorf("pricelist: product without sku")
	}
	p := Product{
		ServiceCode:     raw.ServiceCode,
		ProductFamily:   raw.Product.ProductFamily,
		SKU:             raw.Product.SKU,
		Attributes:      raw.Product.Attributes,
		Version:         raw.Version,
		PublicationDate: raw.PublicationDate,
	}
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	if p.ServiceCode == "" {
		p.ServiceCode = p.Attributes["servicecode"]
	}
	termCodes := make([]string, 0, len(raw.Terms.OnDemand))
	for code := range raw.Terms.OnDemand {
		termCodes = append(termCodes, code)
	}
	sort.Strings(termCodes)
	for _, code := range termCodes {
		term := raw.Terms.OnDemand[code]
		rates := make([]string, 0, len(term.PriceDimensions))
		for rc := range term.PriceDimensions {
			rates = append(rates, rc)
		}
		sort.Strings(rates)
		for _, rc := range rates {
			d := term.PriceDimensions[rc]
			s, ok := d.PricePerUnit["USD"]
			if !ok {
				return Product{}, fmt.Errorf("pricelist: sku %s rate %s has no USD price", p.SKU, rc)
			}
			usd, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return Product{}, fmt.Errorf("pricelist: sku %s rate %s: USD %q: %w", p.SKU, rc, s, err)
			}
			code := d.RateCode
			if code == "" {
				code = rc
			}
			p.OnDemand = append(p.OnDemand, Dimension{RateCode: code, Unit: d.Unit, Description: d.Description, BeginRange: d.BeginRange, EndRange: d.EndRange, USD: usd})
		}
	}
	return p, nil
}

// ParseProducts parses the PriceList of one GetProducts page.
func ParseProducts(docs []string) ([]Product, error) {
	out := make([]Product, 0, len(docs))
	for i, d := range docs {
		p, err := ParseProduct(d)
		if err != nil {
			return nil, fmt.Errorf("PriceList[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// OnDemandPrice returns the first-tier on-demand dimension (beginRange "0"
// or unset): the list price of the first unit. A product with no such
// dimension, or with several first-tier dimensions of different prices, is
// an error.
func (p Product) OnDemandPrice() (Dimension, error) {
	var first []Dimension
	for _, d := range p.OnDemand {
		if d.BeginRange == "" || d.BeginRange == "0" {
			first = append(first, d)
		}
	}
	if len(first) == 0 {
		return Dimension{}, fmt.Errorf("pricelist: sku %s (%s) has no on-demand price", p.SKU, p.Attributes["usagetype"])
	}
	for _, d := range first[1:] {
		if d.USD != first[0].USD {
			return Dimension{}, fmt.Errorf("pricelist: sku %s (%s) has %d first-tier on-demand prices", p.SKU, p.Attributes["usagetype"], len(first))
		}
	}
	return first[0], nil
}

// usageMatches reports whether a usagetype is `want` with or without a
// region prefix ("NatGateway-Hours" in us-east-1, "EUC1-NatGateway-Hours"
// elsewhere, "USE1-AmazonEKS-Hours:perCluster").
func usageMatches(usagetype, want string) bool {
	return usagetype == want || strings.HasSuffix(usagetype, "-"+want)
}
