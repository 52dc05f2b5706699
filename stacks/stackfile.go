package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// SecretPlaceholder stands in for a secret config value: a stack file holds
// only its ciphertext, which cannot be decrypted without the stack's secrets
// provider, and the offline review and the tests never need the real value.
const SecretPlaceholder = "review-placeholder-secret-0000000000"

// StackFile is a stack's config as the engine would hand it to the program,
// read from Pulumi.<stack>.yaml without the Pulumi CLI (the offline review
// and the tests evaluate the program with it). It is a Getter for Load.
type StackFile struct {
	Project    string
	Stack      string
	Config     map[string]string // "ns:key" -> value; structured values as JSON
	SecretKeys []string
}

var stackNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// LoadStack reads Pulumi.<stack>.yaml next to Pulumi.yaml in dir.
func LoadStack(dir, stack string) (*StackFile, error) {
	if !stackNameRe.MatchString(stack) {
		return nil, fmt.Errorf("stack %q: not a stack name", stack)
	}
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	if _, err := os.Stat(path); err != nil {
		known, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
		var names []string
		for _, k := range known {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(k), "Pulumi."), ".yaml"))
		}
		return nil, fmt.Errorf("unknown stack %q: no %s (known stacks: %s)", stack, filepath.Base(path), strings.Join(names, ", "))
	}
	return LoadStackFile(path)
}

// LoadChosen reads the stack the command line of cmd names with exactly one
// of --stack NAME (Pulumi.<NAME>.yaml in dir) or --config FILE.
func LoadChosen(cmd, dir, stack, file string) (*StackFile, error) {
	switch {
	case (stack == "") == (file == ""):
		return nil, fmt.Errorf("%s: give exactly one of --stack NAME or --config FILE", cmd)
	case stack != "":
		return LoadStack(dir, stack)
	default:
		return LoadStackFile(file)
	}
}

// LoadStackFile reads a stack config file (Pulumi.<stack>.yaml); the stack
// name comes from the file name and the project from the Pulumi.yaml beside
// it (default "platform").
func LoadStackFile(path string) (*StackFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack config: %w", err)
	}
	base := filepath.Base(path)
	stack := strings.TrimSuffix(strings.TrimPrefix(base, "Pulumi."), filepath.Ext(base))
	if stack == base || stack == "" {
		stack = strings.TrimSuffix(base, filepath.Ext(base))
	}
	sf := &StackFile{Project: "platform", Stack: stack, Config: map[string]string{}}
	if proj, err := os.ReadFile(filepath.Join(filepath.Dir(path), "Pulumi.yaml")); err == nil {
		var p struct {
			Name string `yaml:"name"`
		}
		if yaml.Unmarshal(proj, &p) == nil && p.Name != "" {
			sf.Project = p.Name
		}
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: malformed YAML: %v", base, err)
	}
	for k, v := range doc.Config {
		if !strings.Contains(k, ":") {
			k = sf.Project + ":" + k
		}
		if m, ok := v.(map[string]any); ok {
			if _, secure := m["secure"]; secure && len(m) == 1 {
				sf.Config[k] = SecretPlaceholder
				sf.SecretKeys = append(sf.SecretKeys, k)
				continue
			}
		}
		switch x := v.(type) {
		case string:
			sf.Config[k] = x
		case nil:
			sf.Config[k] = ""
		case bool, int, float64:
			sf.Config[k] = fmt.Sprint(x)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", base, k, err)
			}
			sf.Config[k] = string(b)
		}
	}
	sort.Strings(sf.SecretKeys)
	return sf, nil
}

// Keys returns the config keys, sorted.
func (sf *StackFile) Keys() []string {
	keys := make([]string, 0, len(sf.Config))
	for k := range sf.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Get returns a platform key's raw value (Getter).
func (sf *StackFile) Get(key string) (string, bool) {
	v, ok := sf.Config[Namespace+":"+key]
	return v, ok
}

// IsSecret reports whether a platform key is a secret in the file (Getter).
func (sf *StackFile) IsSecret(key string) bool {
	return slices.Contains(sf.SecretKeys, Namespace+":"+key)
}
