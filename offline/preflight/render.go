package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report: a heading, each check with its status and
// findings (a FAIL or WARN with its fix), the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Preflight of %s/%s in account %s, %s (read-only: nothing was created, changed or tagged)\n", r.Project, r.Stack, r.Account, r.Region)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n== %-12s %-4s  %s\n", c.Check, c.Status, c.Title)
		for _, f := range c.Findings {
			fmt.Fprintf(&b, "   %-4s  %s\n", f.Status, f.Text)
			if f.Fix != "" {
				fmt.Fprintf(&b, "         fix: %s\n", f.Fix)
			}
		}
	}
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
	}
	fmt.Fprintf(&b, "\n== Verdict: %s (%d checks: %d PASS, %d WARN, %d FAIL, %d SKIP)\n", r.Verdict, len(r.Checks), counts[Pass], counts[Warn], counts[Fail], counts[Skip])
	switch r.Verdict {
	case Fail:
		b.WriteString("`pulumi up` would fail in this account: apply each fix above, then run preflight again.\n")
	case Warn:
		b.WriteString("`pulumi up` can go ahead; read the warnings and skipped checks above.\n")
	default:
		b.WriteString("`pulumi up` can go ahead.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
