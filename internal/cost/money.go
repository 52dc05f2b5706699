package cost

import (
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
