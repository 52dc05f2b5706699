package tests

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tenantco/platform"

// floor places a package of the module on its floor (README, "Layering").
// Imports must point down a floor, or stay inside the package's own tree
// (offline/cli -> offline/review, internal/cost -> internal/inventory).
// The service is a tower of its own: it and the platform never import each
// other; only the cross-package tests read service/contract.
func floor(pkg string) (tree string, level int) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "internal":
		return top, 0
	case "components":
		return top, 1
	case "stacks", "policies":
		return top, 2
	case "offline":
		return top, 3
	case "", "tests": // main.go; the tests that span the house
		return top, 4
	case "service":
		return top, -1
	}
	return top, -2
}

// TestImportsPointDown walks the imports of every package of the module
// (test files and the engine tier included) and fails on any that points up
// a floor, sideways to another tree on the same floor, or across to the
// service: the layering the README describes stays true.
func TestImportsPointDown(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "engine", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`, "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		from := fields[0]
		pkgs++
		fromTree, fromLevel := floor(from)
		if fromLevel == -2 {
			t.Errorf("%s: not on any floor; place its directory in floor() and in the README's layering", from)
			continue
		}
		for _, to := range fields[1:] {
			if to != module && !strings.HasPrefix(to, module+"/") {
				continue
			}
			toTree, toLevel := floor(to)
			switch {
			case toTree == fromTree:
			// The cross-package tests check the platform's side of its
			// contract with the service through the one package the service
			// exports for it (service/contract); nothing else crosses.
			case fromTree == "tests" && to == module+"/service/contract":
			case fromLevel < 0 || toLevel < 0:
				t.Errorf("%s imports %s: the service and the platform never import each other", from, to)
			case toLevel >= fromLevel:
				t.Errorf("%s (floor %d, %s/) imports %s (floor %d, %s/): imports must point down", from, fromLevel, fromTree, to, toLevel, toTree)
			}
		}
	}
	if pkgs < 20 {
		t.Fatalf("go list found only %d packages; is the test running from tests/?", pkgs)
	}
}
