// Package inventory holds the plain-Go view of a stack's resources that the
// offline review, the cost model and the policy rules share. Each of them gets
// resources from a different source (the SDK's mock engine, the policy
// analyzer), so this package is the one place where Pulumi property values are
// turned into ordinary Go values and where inputs are read back by path.
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

// Get returns the value at a dotted path ("scalingConfig.maxSize",
// "blockDeviceMappings.0.ebs.encrypted") and whether it is present.
func (r Resource) Get(path string) (any, bool) {
	var cur any = r.Inputs
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// IsUnknown reports whether the value at path is present but not yet known.
func (r Resource) IsUnknown(path string) bool {
	v, _ := r.Get(path)
	_, ok := v.(Unknown)
	return ok
}

// String returns the string at path; ok is false if it is absent, unknown or
// not a string.
func (r Resource) String(path string) (string, bool) {
	v, _ := r.Get(path)
	s, ok := v.(string)
	return s, ok
}

// Number returns the number at path. Numeric strings are accepted because
// several AWS inputs (EBS "encrypted", sizes in launch templates) are strings.
func (r Resource) Number(path string) (float64, bool) {
	v, _ := r.Get(path)
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// Bool returns the boolean at path. "true"/"false" strings are accepted for
// the same reason as in Number.
func (r Resource) Bool(path string) (bool, bool) {
	v, _ := r.Get(path)
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		p, err := strconv.ParseBool(b)
		return p, err == nil
	}
	return false, false
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
