package cost

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// FormatUSD renders an amount the way every report of the platform shows
// money: "$1,234.56", "-$34.56" (never "-$0.00").
func FormatUSD(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	whole, frac, _ := strings.Cut(strconv.FormatFloat(v, 'f', 2, 64), ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	out := "$" + b.String() + "." + frac
	if neg && out != "$0.00" {
		out = "-" + out
	}
	return out
}

// toCents rounds a dollar amount to whole cents, half away from zero, after
// removing binary floating-point noise (0.0225*730 is 16.424999... in
// float64 but 16.425 in decimal, which rounds to 16.43).
func toCents(usd float64) int64 {
	micro := math.Round(usd * 1e6)
	if micro < 0 {
		return -((int64(-micro) + 5000) / 10000)
	}
	return (int64(micro) + 5000) / 10000
}

func roundCents(usd float64) float64 { return float64(toCents(usd)) / 100 }

func roundTo(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func joinErrs(errs []error) error { return errors.Join(errs...) }
