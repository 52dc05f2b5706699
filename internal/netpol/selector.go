package netpol

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Labels is a label set (a pod template's or a namespace's) as the program
// registers it; parts of it may be unknown during preview.
type Labels struct {
	// Known holds the labels whose keys and values are known.
	Known map[string]string
	// UnknownValue holds keys that are set but whose value is unknown.
	UnknownValue map[string]bool
	// AllUnknown is set when the label map itself is unknown: any key may
	// be there.
	AllUnknown bool
	// where names the input, for "cannot verify" messages.
	where string
}

// KnownLabels is a fully known label set.
func KnownLabels(m map[string]string) Labels { return Labels{Known: maps.Clone(m)} }

// String renders the labels as k=v pairs, sorted; unknown values show as
// k=<unknown>.
func (l Labels) String() string {
	if l.AllUnknown {
		return "<unknown>"
	}
	var parts []string
	for k, v := range l.Known {
		parts = append(parts, k+"="+v)
	}
	for k := range l.UnknownValue {
		parts = append(parts, k+"=<unknown>")
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ",")
}

// lookup says whether key is set and to what; valueKnown is false when
// the key is (or may be) set to a value unknown during preview.
func (l Labels) lookup(key string) (value string, present tri, valueKnown bool) {
	if v, ok := l.Known[key]; ok {
		return v, triYes, true
	}
	if l.UnknownValue[key] {
		return "", triYes, false
	}
	if l.AllUnknown {
		return "", triMaybe(l.where), false
	}
	return "", triNo, true
}

// parseLabels reads a labels map at path below v. where prefixes the path
// in messages (the resource).
func parseLabels(v any, path, where string) (Labels, []string) {
	l := Labels{Known: map[string]string{}, where: join(where, path)}
	m, st := object(v, path)
	switch st {
	case opaque:
		l.AllUnknown = true
		return l, nil
	case absent:
		return l, nil
	}
	var problems []string
	for k, x := range m {
		switch s, st := text(x, ""); {
		case st == opaque:
			if l.UnknownValue == nil {
				l.UnknownValue = map[string]bool{}
			}
			l.UnknownValue[k] = true
		case st == known || x == "":
			l.Known[k] = s
		default:
			problems = append(problems, fmt.Sprintf("%s: label %q is %v, not a string", join(where, path), k, x))
		}
	}
	return l, problems
}

// Selector operators (metav1.LabelSelectorRequirement).
const (
	OpIn           = "In"
	OpNotIn        = "NotIn"
	OpExists       = "Exists"
	OpDoesNotExist = "DoesNotExist"
)

// Requirement is one condition of a label selector. matchLabels entries
// become In requirements with one value, as Kubernetes itself treats them.
type Requirement struct {
	Key      string
	Operator string
	Values   []string
	// unknownValues: some values (or the whole list) are unknown.
	unknownValues bool
	// unknown: the key or operator is unknown, so nothing can be said.
	unknown bool
	// invalid: the API server would reject it; it matches nothing here
	// (and the parse reports it as a problem).
	invalid bool
	where   string
}

// Selector is a metav1.LabelSelector: every requirement must hold (AND).
// An empty selector (no requirements) selects everything.
type Selector struct {
	Requirements []Requirement
	// unknown: the selector itself (or its matchLabels/matchExpressions
	// list) is unknown.
	unknown bool
	where   string
}

// Empty reports whether the selector has no requirements and is known:
// it selects every pod (or namespace).
func (s Selector) Empty() bool { return !s.unknown && len(s.Requirements) == 0 }

// String renders the selector like kubectl does: "k8s-app=kube-dns",
// "tier in (a,b)", "!canary", "{}" for the empty selector.
func (s Selector) String() string {
	if s.unknown {
		return "<unknown>"
	}
	if len(s.Requirements) == 0 {
		return "{}"
	}
	parts := make([]string, 0, len(s.Requirements))
	for _, r := range s.Requirements {
		parts = append(parts, r.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (r Requirement) String() string {
	if r.unknown {
		return "<unknown>"
	}
	vals := slices.Sorted(slices.Values(r.Values))
	if r.unknownValues {
		vals = append(vals, "<unknown>")
	}
	switch r.Operator {
	case OpIn:
		if len(vals) == 1 {
			return r.Key + "=" + vals[0]
		}
		return r.Key + " in (" + strings.Join(vals, ",") + ")"
	case OpNotIn:
		return r.Key + " notin (" + strings.Join(vals, ",") + ")"
	case OpExists:
		return r.Key
	case OpDoesNotExist:
		return "!" + r.Key
	}
	return r.Key + " " + r.Operator
}

// matches decides whether the selector selects a label set. Semantics of
// metav1.LabelSelector: matchLabels and matchExpressions are ANDed; In
// needs the key present with one of the values; NotIn holds when the key
// is absent or its value is not listed; Exists / DoesNotExist test the key
// only. https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
func (s Selector) matches(l Labels) tri {
	if s.unknown {
		return triMaybe(s.where)
	}
	ts := make([]tri, 0, len(s.Requirements))
	for _, r := range s.Requirements {
		ts = append(ts, r.matches(l))
	}
	return and(ts...)
}

func (r Requirement) matches(l Labels) tri {
	switch {
	case r.invalid:
		return triNo
	case r.unknown:
		return triMaybe(r.where)
	}
	value, present, valueKnown := l.lookup(r.Key)
	// valueIn: is the label's value one of r.Values? Only matters when
	// the key is present.
	valueIn := func() tri {
		if !valueKnown {
			return triMaybe(appendWhy([]string{l.where}, r.whereIf(r.unknownValues)...)...)
		}
		if slices.Contains(r.Values, value) {
			return triYes
		}
		if r.unknownValues {
			return triMaybe(r.where)
		}
		return triNo
	}
	switch r.Operator {
	case OpIn:
		return and(present, valueIn())
	case OpNotIn:
		return or(not(present), not(valueIn()))
	case OpExists:
		return present
	case OpDoesNotExist:
		return not(present)
	}
	// parseSelector marks other operators invalid.
	return triNo
}

func (r Requirement) whereIf(b bool) []string {
	if b {
		return []string{r.where}
	}
	return nil
}

// parseSelector reads a metav1.LabelSelector at path below v. It reports
// whether the selector is set at all (a peer's podSelector may be absent,
// which differs from {}), and any malformed parts.
func parseSelector(v any, path, where string) (sel Selector, set bool, problems []string) {
	full := join(where, path)
	sel.where = full
	m, st := object(v, path)
	switch st {
	case opaque:
		sel.unknown = true
		return sel, true, nil
	case absent:
		return sel, false, nil
	}
	labels, lst := object(m, "matchLabels")
	if lst == opaque {
		sel.unknown = true
		sel.where = join(full, "matchLabels")
		return sel, true, nil
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		r := Requirement{Key: k, Operator: OpIn, where: join(full, "matchLabels", k)}
		switch s, st := text(labels[k], ""); {
		case st == opaque:
			r.unknownValues = true
		case st == known || labels[k] == "":
			r.Values = []string{s}
		default:
			problems = append(problems, fmt.Sprintf("%s: matchLabels %q is %v, not a string", full, k, labels[k]))
			r.invalid = true
		}
		sel.Requirements = append(sel.Requirements, r)
	}
	exprs, est := list(m, "matchExpressions")
	if est == opaque {
		sel.unknown = true
		sel.where = join(full, "matchExpressions")
		return sel, true, problems
	}
	for i, e := range exprs {
		epath := join(full, "matchExpressions", fmt.Sprint(i))
		r := Requirement{where: epath}
		key, kst := text(e, "key")
		op, ost := text(e, "operator")
		r.Key, r.Operator = key, op
		if kst == opaque || ost == opaque {
			r.unknown = true
			sel.Requirements = append(sel.Requirements, r)
			continue
		}
		if kst == absent {
			problems = append(problems, epath+": key is not set")
			r.invalid = true
		}
		vals, vst := list(e, "values")
		if vst == opaque {
			r.unknownValues = true
		}
		for _, x := range vals {
			switch s, st := text(x, ""); st {
			case opaque:
				r.unknownValues = true
			case known:
				r.Values = append(r.Values, s)
			}
		}
		switch op {
		case OpIn, OpNotIn:
			if len(r.Values) == 0 && !r.unknownValues {
				problems = append(problems, fmt.Sprintf("%s: operator %s needs values", epath, op))
				r.invalid = true
			}
		case OpExists, OpDoesNotExist:
			if len(r.Values) > 0 {
				problems = append(problems, fmt.Sprintf("%s: operator %s takes no values", epath, op))
				r.invalid = true
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: operator %q is not In, NotIn, Exists or DoesNotExist", epath, op))
			r.invalid = true
		}
		sel.Requirements = append(sel.Requirements, r)
	}
	return sel, true, problems
}
