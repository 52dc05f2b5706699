package cost

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// embeddedSnapshot is the price snapshot the binary carries. It is the only
// price source of Load: nothing here calls AWS. `prices refresh`
// (internal/cost/pricelist) rewrites this file from the AWS Price List Query API.
//
//go:embed prices.json
var embeddedSnapshot []byte

// EmbeddedSnapshot returns a copy of the raw embedded prices.json (the refresh
// starts from it so rows that the Price List cannot answer are carried over).
func EmbeddedSnapshot() []byte { return append([]byte(nil), embeddedSnapshot...) }

// Snapshot is the on-disk shape of prices.json.
type Snapshot struct {
	Region   string `json:"region"`
	Currency string `json:"currency"`
	AsOf     string `json:"as_of"`
	Source   string `json:"source"`
	// Prices are keyed rows; see the key conventions in doc.go.
	Prices []PriceRow `json:"prices"`
	// EKSVersions is the EKS support calendar (control plane extended
	// support depends on it).
	EKSVersions []EKSVersion `json:"eks_versions"`
}

// PriceRow is one price with its provenance. Every field but VCPU is
// required.
type PriceRow struct {
	Key    string  `json:"key"`
	Region string  `json:"region"`
	Price  float64 `json:"price"`
	Unit   string  `json:"unit"`
	// VCPU is the vCPU count of an instance class (RDS Performance Insights
	// is priced per vCPU); 0 where it does not apply.
	VCPU       int    `json:"vcpu,omitempty"`
	Source     string `json:"source"`
	AsOf       string `json:"as_of"`
	Confidence string `json:"confidence"` // high | medium | low
}

// EKSVersion is one Kubernetes minor version on EKS. Dates are UTC days;
// extended support billing starts at 00:00 UTC of EndOfStandardSupport.
type EKSVersion struct {
	Version              string `json:"version"`
	EKSRelease           string `json:"eks_release"`
	EndOfStandardSupport string `json:"end_of_standard_support"`
	EndOfExtendedSupport string `json:"end_of_extended_support"`
	Source               string `json:"source"`
	AsOf                 string `json:"as_of"`
}

// Model is a loaded, validated price snapshot.
type Model struct {
	snap     Snapshot
	region   string
	prices   map[string]PriceRow // by key, for the model's region
	versions []eksVersion        // sorted by version
}

type eksVersion struct {
	major, minor int
	endStd       time.Time
	endExt       time.Time
	row          EKSVersion
}

// Load returns the model of the embedded snapshot.
func Load() (*Model, error) { return LoadSnapshot(embeddedSnapshot) }

// LoadSnapshot parses and validates a snapshot in the prices.json format.
// Every row needs region, a non-negative price, unit, source, as-of date and
// confidence; keys must be unique per region.
func LoadSnapshot(data []byte) (*Model, error) {
	var s Snapshot
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("cost: parse price snapshot: %w", err)
	}
	if s.Region == "" {
		return nil, errors.New("cost: price snapshot has no region")
	}
	if s.Currency != "" && s.Currency != "USD" {
		return nil, fmt.Errorf("cost: price snapshot currency %q: only USD is supported", s.Currency)
	}
	if _, err := parseAsOf(s.AsOf); err != nil {
		return nil, fmt.Errorf("cost: price snapshot as_of: %w", err)
	}
	m := &Model{snap: s, region: s.Region, prices: map[string]PriceRow{}}
	var errs []error
	seen := map[string]bool{}
	for i, p := range s.Prices {
		where := fmt.Sprintf("cost: price row %d (%q)", i, p.Key)
		switch {
		case p.Key == "":
			errs = append(errs, fmt.Errorf("%s: no key", where))
		case p.Region == "":
			errs = append(errs, fmt.Errorf("%s: no region", where))
		case p.Unit == "":
			errs = append(errs, fmt.Errorf("%s: no unit", where))
		case p.Source == "":
			errs = append(errs, fmt.Errorf("%s: no source", where))
		case p.Price < 0:
			errs = append(errs, fmt.Errorf("%s: negative price", where))
		case p.Confidence != "high" && p.Confidence != "medium" && p.Confidence != "low":
			errs = append(errs, fmt.Errorf("%s: confidence %q: want high, medium or low", where, p.Confidence))
		}
		if _, err := parseAsOf(p.AsOf); err != nil {
			errs = append(errs, fmt.Errorf("%s: as_of: %w", where, err))
		}
		id := p.Region + "|" + p.Key
		if seen[id] {
			errs = append(errs, fmt.Errorf("%s: duplicate key in region %s", where, p.Region))
		}
		seen[id] = true
		if p.Region == s.Region {
			m.prices[p.Key] = p
		}
	}
	for i, v := range s.EKSVersions {
		where := fmt.Sprintf("cost: eks_versions[%d] (%q)", i, v.Version)
		maj, min, ok := parseMinor(v.Version)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: bad version", where))
			continue
		}
		std, err1 := time.Parse(time.DateOnly, v.EndOfStandardSupport)
		ext, err2 := time.Parse(time.DateOnly, v.EndOfExtendedSupport)
		if err1 != nil || err2 != nil || !ext.After(std) {
			errs = append(errs, fmt.Errorf("%s: end_of_standard_support/end_of_extended_support must be dates, extended after standard", where))
			continue
		}
		if v.Source == "" {
			errs = append(errs, fmt.Errorf("%s: no source", where))
		}
		m.versions = append(m.versions, eksVersion{major: maj, minor: min, endStd: std, endExt: ext, row: v})
	}
	if len(m.prices) == 0 {
		errs = append(errs, fmt.Errorf("cost: price snapshot has no rows for its region %s", s.Region))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(m.versions, func(i, j int) bool {
		a, b := m.versions[i], m.versions[j]
		return a.major < b.major || (a.major == b.major && a.minor < b.minor)
	})
	return m, nil
}

func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or YYYY-MM", s)
}

// parseMinor reads "1.35", "v1.35" or "1.35.2" as (1, 35).
func parseMinor(v string) (int, int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return maj, min, true
}

// Prices describes the snapshot the model was loaded from.
func (m *Model) Prices() PriceInfo {
	return PriceInfo{Region: m.region, AsOf: m.snap.AsOf, Source: m.snap.Source}
}

// Snapshot returns a copy of the loaded snapshot.
func (m *Model) Snapshot() Snapshot {
	s := m.snap
	s.Prices = append([]PriceRow(nil), m.snap.Prices...)
	s.EKSVersions = append([]EKSVersion(nil), m.snap.EKSVersions...)
	return s
}

// Price returns the row for key in the model's region.
func (m *Model) Price(key string) (PriceRow, bool) {
	p, ok := m.prices[key]
	return p, ok
}
