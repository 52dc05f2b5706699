package netpol

import (
	"slices"
	"strings"
	"testing"
)

func expr(key, op string, values ...any) m {
	e := m{"key": key, "operator": op}
	if values != nil {
		e["values"] = values
	}
	return e
}

func TestSelectorMatches(t *testing.T) {
	pod := KnownLabels(map[string]string{"app": "web", "tier": "front"})
	cases := []struct {
		name     string
		selector any
		labels   Labels
		want     truth
	}{
		{"empty selects all", m{}, pod, yes},
		{"empty matchLabels selects all", m{"matchLabels": m{}, "matchExpressions": l()}, pod, yes},
		{"matchLabels equal", matchLabels("app", "web"), pod, yes},
		{"matchLabels all must hold", matchLabels("app", "web", "tier", "back"), pod, no},
		{"matchLabels key absent", matchLabels("team", "a"), pod, no},
		{"In", m{"matchExpressions": l(expr("tier", "In", "back", "front"))}, pod, yes},
		{"In value not listed", m{"matchExpressions": l(expr("tier", "In", "back"))}, pod, no},
		{"In key absent", m{"matchExpressions": l(expr("team", "In", "a"))}, pod, no},
		// NotIn holds for a pod without the key: a naive "value not in list"
		// on a missing key would say no.
		{"NotIn key absent holds", m{"matchExpressions": l(expr("team", "NotIn", "a"))}, pod, yes},
		{"NotIn value listed", m{"matchExpressions": l(expr("tier", "NotIn", "front"))}, pod, no},
		{"NotIn value not listed", m{"matchExpressions": l(expr("tier", "NotIn", "back"))}, pod, yes},
		{"Exists", m{"matchExpressions": l(expr("app", "Exists"))}, pod, yes},
		{"Exists absent", m{"matchExpressions": l(expr("team", "Exists"))}, pod, no},
		{"DoesNotExist", m{"matchExpressions": l(expr("team", "DoesNotExist"))}, pod, yes},
		{"DoesNotExist present", m{"matchExpressions": l(expr("app", "DoesNotExist"))}, pod, no},
		// matchLabels AND matchExpressions.
		{"matchLabels and expressions both hold", m{"matchLabels": labels("app", "web"), "matchExpressions": l(expr("tier", "In", "front"))}, pod, yes},
		{"matchLabels holds, expression fails", m{"matchLabels": labels("app", "web"), "matchExpressions": l(expr("tier", "NotIn", "front"))}, pod, no},
		{"expression holds, matchLabels fails", m{"matchLabels": labels("app", "db"), "matchExpressions": l(expr("tier", "In", "front"))}, pod, no},

		// Unknowns (preview).
		{"whole selector unknown", unk, pod, maybe},
		{"matchLabels unknown", m{"matchLabels": unk}, pod, maybe},
		{"matchLabels value unknown", m{"matchLabels": m{"app": unk}}, pod, maybe},
		{"matchLabels value unknown, key absent", m{"matchLabels": m{"team": unk}}, pod, no},
		{"matchLabels value unknown, other label fails", m{"matchLabels": m{"app": unk, "tier": "back"}}, pod, no},
		{"expression key unknown", m{"matchExpressions": l(m{"key": unk, "operator": "Exists"})}, pod, maybe},
		{"In with an unknown value, known one matches", m{"matchExpressions": l(expr("tier", "In", unk, "front"))}, pod, yes},
		{"In with an unknown value, no known match", m{"matchExpressions": l(expr("tier", "In", unk, "back"))}, pod, maybe},
		{"pod labels unknown", matchLabels("app", "web"), Labels{AllUnknown: true, where: "pod labels"}, maybe},
		{"pod labels unknown, empty selector", m{}, Labels{AllUnknown: true, where: "pod labels"}, yes},
		{"pod label value unknown", matchLabels("app", "web"), Labels{Known: map[string]string{}, UnknownValue: map[string]bool{"app": true}, where: "pod labels"}, maybe},
		{"pod label value unknown, Exists", m{"matchExpressions": l(expr("app", "Exists"))}, Labels{UnknownValue: map[string]bool{"app": true}, where: "pod labels"}, yes},
		{"pod label value unknown, other key absent", matchLabels("team", "a"), Labels{UnknownValue: map[string]bool{"app": true}, where: "pod labels"}, no},
		{"pod labels unknown, DoesNotExist", m{"matchExpressions": l(expr("team", "DoesNotExist"))}, Labels{AllUnknown: true, where: "pod labels"}, maybe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel, set, problems := parseSelector(m{"s": c.selector}, "s", "test")
			if !set || len(problems) > 0 {
				t.Fatalf("parse: set=%v problems=%v", set, problems)
			}
			got := sel.matches(c.labels)
			if got.t != c.want {
				t.Errorf("matches = %v (why %v), want %v", got.t, got.why, c.want)
			}
			if got.t == maybe && len(got.why) == 0 {
				t.Error("an unknown answer must say which input was unknown")
			}
		})
	}
}

func TestSelectorString(t *testing.T) {
	sel, _, _ := parseSelector(m{"s": m{
		"matchLabels":      labels("k8s-app", "kube-dns"),
		"matchExpressions": l(expr("tier", "In", "a", "b"), expr("canary", "DoesNotExist"), expr("team", "NotIn", "x"), expr("zone", "Exists")),
	}}, "s", "")
	if got, want := sel.String(), "!canary,k8s-app=kube-dns,team notin (x),tier in (a,b),zone"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	empty, _, _ := parseSelector(m{"s": m{}}, "s", "")
	if !empty.Empty() || empty.String() != "{}" {
		t.Errorf("empty selector: Empty=%v String=%q", empty.Empty(), empty.String())
	}
}

func TestSelectorProblems(t *testing.T) {
	cases := []struct {
		selector m
		want     string
	}{
		{m{"matchExpressions": l(expr("a", "Equals", "x"))}, `operator "Equals" is not In, NotIn, Exists or DoesNotExist`},
		{m{"matchExpressions": l(expr("a", "In"))}, "operator In needs values"},
		{m{"matchExpressions": l(expr("a", "Exists", "x"))}, "operator Exists takes no values"},
		{m{"matchExpressions": l(m{"operator": "Exists"})}, "key is not set"},
		{m{"matchLabels": m{"a": 1.0}}, `matchLabels "a" is 1, not a string`},
	}
	for _, c := range cases {
		sel, _, problems := parseSelector(m{"s": c.selector}, "s", "NetworkPolicy x")
		if len(problems) != 1 || !strings.Contains(problems[0], c.want) || !strings.HasPrefix(problems[0], "NetworkPolicy x.s") {
			t.Errorf("%v: problems %q, want one naming NetworkPolicy x.s and %q", c.selector, problems, c.want)
		}
		// A malformed selector selects nothing rather than everything.
		if got := sel.matches(KnownLabels(map[string]string{"a": "x"})); got.t != no {
			t.Errorf("%v: malformed selector matches = %v, want no", c.selector, got.t)
		}
	}
}

func TestLabelsString(t *testing.T) {
	ls := Labels{Known: map[string]string{"b": "2", "a": "1"}, UnknownValue: map[string]bool{"c": true}}
	if got := ls.String(); got != "a=1,b=2,c=<unknown>" {
		t.Errorf("String = %q", got)
	}
	if got := (Labels{}).String(); got != "(none)" {
		t.Errorf("empty String = %q", got)
	}
	if !slices.Equal([]string{"x"}, appendWhy(nil, "x", "x")) {
		t.Error("appendWhy must keep each reason once")
	}
}
