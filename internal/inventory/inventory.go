// Package inventory holds the plain-Go view of a stack's resources that the
// offline review, the cost model and the policy rules share. Each of them gets
// resources from a different source (the recording mock engine, the policy
// analyzer), so this package is the one place where Pulumi property values are
// turned into ordinary Go values and where inputs are read back by path
// (Resource.Lookup and the typed readers on top of it).
package inventory

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Secret is what a secret input becomes: rules can see that a value is set,
// never what it is.
const Secret = "[secret]"

// Unknown marks a value that is not known yet (a preview of an output that
// only the provider can compute). Rules and the cost model must treat it as
// "not decidable", never as zero or false.
type Unknown struct{}

// MarshalJSON renders an unknown value as a readable marker.
func (Unknown) MarshalJSON() ([]byte, error) { return []byte(`"[unknown]"`), nil }

// Resource is one resource as the program registered it.
type Resource struct {
	URN    string `json:"urn"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Provider is the URN of the explicit provider the resource uses, or ""
	// for the default provider.
	Provider string         `json:"provider,omitempty"`
	Inputs   map[string]any `json:"inputs"`
	// Dependencies are the URNs the resource was registered to depend on
	// (explicit dependsOn and those from its inputs), as the engine records
	// them; not part of the review's JSON.
	Dependencies []string `json:"-"`
}

// FromPropertyMap converts Pulumi property values into plain Go values:
// map[string]any, []any, string, float64, bool, nil, Unknown and Secret.
// Resource references become the referenced URN.
func FromPropertyMap(pm resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(pm))
	for k, v := range pm {
		out[string(k)] = fromValue(v)
	}
	return out
}

func fromValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return Unknown{}
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Secret
		}
		if !o.Known {
			return Unknown{}
		}
		return fromValue(o.Element)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = fromValue(e)
		}
		return out
	case v.IsObject():
		return FromPropertyMap(v.ObjectValue())
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsAsset(), v.IsArchive():
		return "[asset]"
	default:
		return fmt.Sprint(v.V)
	}
}

// OpaqueComponent reports whether r is a provider-implemented (remote)
// component as the Pulumi engine shows it to a policy pack: its arguments went
// to the component's provider, which registers it with no properties, and its
// children (aws:eks/cluster, aws:eks/nodeGroup, …) carry the facts. Under the
// SDK's mocks the same component carries its arguments and no children are
// visible, so rules and prices read whichever view has the data.
//
// Only the components whose children the rules and the cost model know
// (aws:eks/cluster:Cluster, aws:eks/nodeGroup:NodeGroup) count; any other
// component without inputs stays an unknown for them, never a free pass.
func (r Resource) OpaqueComponent() bool {
	return (r.Type == "eks:index:Cluster" || r.Type == "eks:index:ManagedNodeGroup") && len(r.Inputs) == 0
}

// State says what is at an input path.
type State int

const (
	StateAbsent  State = iota // not set (or null)
	StateKnown                // a plain value
	StateUnknown              // not known during preview, here or anywhere on the way
	StateSecret               // set, but a secret: a reader sees only that it is set
)

// Opaque reports whether a reader cannot see the value: unknown during
// preview, or a secret.
func (s State) Opaque() bool { return s == StateUnknown || s == StateSecret }

// Lookup returns the value at a dotted path of r's inputs
// ("scalingConfig.maxSize", "blockDeviceMappings.0.ebs.encrypted") and its
// state. It is the one reader of inputs: the cost model, the policy rules and
// the review all read through it, so they agree on what is absent, known,
// unknown or secret. Below an unknown (or secret) value everything is unknown
// (or secret): with a whole scalingConfig unknown in preview,
// scalingConfig.maxSize is unknown, never absent (which would mean "take the
// default"). A one-element list is descended where an object is expected
// (some providers model a single nested block as a list).
func (r Resource) Lookup(path string) (any, State) { return Walk(r.Inputs, path) }

// Walk is Lookup on any value: a nested input already read, or a provider's
// configuration.
func Walk(root any, path string) (any, State) {
	cur := root
	for _, part := range strings.Split(path, ".") {
		i, err := strconv.Atoi(part)
		if l, ok := cur.([]any); ok && len(l) == 1 && err != nil {
			cur = l[0] // a single nested block modelled as a list
		}
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			if err != nil || i < 0 || i >= len(c) {
				return nil, StateAbsent
			}
			cur = c[i]
		default:
			if _, st := Classify(c); st.Opaque() {
				return nil, st
			}
			return nil, StateAbsent
		}
	}
	return Classify(cur)
}

// Classify returns the state of one value (an element of a list read with
// ListAt, say); the value is nil unless it is known or a secret.
func Classify(v any) (any, State) {
	switch v := v.(type) {
	case nil:
		return nil, StateAbsent
	case Unknown:
		return nil, StateUnknown
	case string:
		if v == Secret {
			return v, StateSecret
		}
	}
	return v, StateKnown
}

// BoolAt reads a boolean; "true"/"false" strings count (EBS "encrypted" in
// launch templates is a string). A known non-boolean value counts as absent.
func (r Resource) BoolAt(path string) (bool, State) {
	v, st := r.Lookup(path)
	if st != StateKnown {
		return false, st
	}
	switch b := v.(type) {
	case bool:
		return b, StateKnown
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, StateKnown
		}
	}
	return false, StateAbsent
}

// NumberAt reads a number; numeric strings count (several AWS inputs, sizes
// in launch templates among them, are strings). A known non-number counts as
// absent.
func (r Resource) NumberAt(path string) (float64, State) {
	v, st := r.Lookup(path)
	if st != StateKnown {
		return 0, st
	}
	switch n := v.(type) {
	case float64:
		return n, StateKnown
	case int:
		return float64(n), StateKnown
	case string:
		if f, err := strconv.ParseFloat(n, 64); err == nil {
			return f, StateKnown
		}
	}
	return 0, StateAbsent
}

// StringAt reads a string; an empty string counts as absent, a known
// non-string is formatted, a secret reads as Secret.
func (r Resource) StringAt(path string) (string, State) {
	v, st := r.Lookup(path)
	switch st {
	case StateKnown:
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		if s == "" {
			return "", StateAbsent
		}
		return s, StateKnown
	case StateSecret:
		return Secret, StateSecret
	}
	return "", st
}

// ListAt reads a list; a single value counts as a one-element list. A known
// list may hold unknown elements (its length is still known).
func (r Resource) ListAt(path string) ([]any, State) {
	v, st := r.Lookup(path)
	if st != StateKnown {
		return nil, st
	}
	if l, ok := v.([]any); ok {
		return l, StateKnown
	}
	return []any{v}, StateKnown
}

// StringsAt reads a list of strings. The state is unknown if the list or any
// element is unknown, else secret if any is a secret; the plain elements are
// returned either way.
func (r Resource) StringsAt(path string) ([]string, State) {
	l, st := r.ListAt(path)
	if st != StateKnown {
		return nil, st
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		v, est := Classify(e)
		switch {
		case est == StateUnknown:
			st = StateUnknown
		case est == StateSecret && st != StateUnknown:
			st = StateSecret
		case est == StateKnown:
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out, st
}

// HasUnknown reports whether any input of r, at any depth, is unknown.
func (r Resource) HasUnknown() bool { return hasUnknown(r.Inputs) }

func hasUnknown(v any) bool {
	switch v := v.(type) {
	case Unknown:
		return true
	case map[string]any:
		for _, e := range v {
			if hasUnknown(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return false
}

// The accessors below are Lookup for callers that only want a present value
// (tests, the review's text): ok is false when nothing is there.

// Get returns the value at path and whether anything is there: an unknown
// value reads as Unknown{}, a secret as Secret.
func (r Resource) Get(path string) (any, bool) {
	v, st := r.Lookup(path)
	switch st {
	case StateUnknown:
		return Unknown{}, true
	case StateSecret:
		return Secret, true
	}
	return v, st == StateKnown
}

// String returns the string at path (Secret for a secret); ok is false if it
// is absent, unknown or not a string.
func (r Resource) String(path string) (string, bool) {
	v, _ := r.Get(path)
	s, ok := v.(string)
	return s, ok
}

// Number returns the number at path; numeric strings count (see NumberAt).
func (r Resource) Number(path string) (float64, bool) {
	n, st := r.NumberAt(path)
	return n, st == StateKnown
}

// Bool returns the boolean at path; "true"/"false" strings count (see
// BoolAt).
func (r Resource) Bool(path string) (bool, bool) {
	b, st := r.BoolAt(path)
	return b, st == StateKnown
}

// Strings returns the list of strings at path (non-string elements skipped).
func (r Resource) Strings(path string) []string {
	v, _ := r.Get(path)
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Tags returns the resource's own "tags" input as a string map.
func (r Resource) Tags() map[string]string {
	v, _ := r.Get("tags")
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Sort orders resources by URN so every consumer sees a stable order.
func Sort(rs []Resource) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].URN < rs[j].URN })
}

// MarshalIndent renders resources as stable, indented JSON (map keys are
// sorted by encoding/json).
func MarshalIndent(rs []Resource) ([]byte, error) { return json.MarshalIndent(rs, "", "  ") }
