package netpol

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// state says what is at an input path.
type state int

const (
	absent state = iota // not set (or null)
	known               // a plain value
	opaque              // unknown during preview, or a secret: set, but not readable
)

// at returns the value at a dotted path below v. An unknown (or secret)
// value anywhere on the way makes the result opaque: what lies below a value
// nobody knows yet is not known either. inventory's own readers are not used
// on purpose: they cannot tell "unknown on the way" from "absent", and they
// are being reworked elsewhere.
func at(v any, path string) (any, state) {
	cur := v
	if path != "" {
		for _, part := range strings.Split(path, ".") {
			if isOpaque(cur) {
				return nil, opaque
			}
			switch c := cur.(type) {
			case map[string]any:
				cur = c[part]
			case []any:
				i, err := strconv.Atoi(part)
				if err != nil || i < 0 || i >= len(c) {
					return nil, absent
				}
				cur = c[i]
			default:
				return nil, absent
			}
		}
	}
	switch {
	case cur == nil:
		return nil, absent
	case isOpaque(cur):
		return nil, opaque
	}
	return cur, known
}

// isOpaque reports whether v is a value a rule cannot read.
func isOpaque(v any) bool {
	if _, ok := v.(inventory.Unknown); ok {
		return true
	}
	s, ok := v.(string)
	return ok && s == inventory.Secret
}

// truth is a three-valued boolean (Kleene logic): a question whose answer
// depends on a value unknown during preview is "maybe", never yes or no.
type truth int8

const (
	no truth = iota
	yes
	maybe
)

// tri is a truth with the inputs that made it "maybe".
type tri struct {
	t   truth
	why []string
}

var (
	triYes = tri{t: yes}
	triNo  = tri{t: no}
)

func triMaybe(why ...string) tri { return tri{t: maybe, why: why} }

func triOf(b bool) tri {
	if b {
		return triYes
	}
	return triNo
}

// and is Kleene conjunction: any no decides; otherwise any maybe stays.
func and(ts ...tri) tri {
	out := triYes
	for _, t := range ts {
		switch t.t {
		case no:
			return triNo
		case maybe:
			out.t = maybe
			out.why = appendWhy(out.why, t.why...)
		}
	}
	return out
}

// or is Kleene disjunction: any yes decides; otherwise any maybe stays.
func or(ts ...tri) tri {
	out := triNo
	for _, t := range ts {
		switch t.t {
		case yes:
			return triYes
		case maybe:
			out.t = maybe
			out.why = appendWhy(out.why, t.why...)
		}
	}
	return out
}

func not(t tri) tri {
	switch t.t {
	case yes:
		return triNo
	case no:
		return triYes
	}
	return t
}

// appendWhy adds reasons once each (and no empty one), keeping their order.
func appendWhy(dst []string, why ...string) []string {
	for _, w := range why {
		if w != "" && !slices.Contains(dst, w) {
			dst = append(dst, w)
		}
	}
	return dst
}

// text reads a string input: known, absent (also "") or opaque. A number is
// not a string here: the fields read this way (names, CIDRs, operators)
// are strings in the Kubernetes API.
func text(v any, path string) (string, state) {
	x, st := at(v, path)
	if st != known {
		return "", st
	}
	s, ok := x.(string)
	if !ok || s == "" {
		return "", absent
	}
	return s, known
}

// list reads a list input; a missing or null list is absent.
func list(v any, path string) ([]any, state) {
	x, st := at(v, path)
	if st != known {
		return nil, st
	}
	l, ok := x.([]any)
	if !ok {
		return nil, absent
	}
	return l, known
}

// object reads a map input.
func object(v any, path string) (map[string]any, state) {
	x, st := at(v, path)
	if st != known {
		return nil, st
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, absent
	}
	return m, known
}

// join builds a dotted path.
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}
