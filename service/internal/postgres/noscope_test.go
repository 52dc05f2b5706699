package postgres

import "testing"

// TestBenchNoScopeOnlyWithItsTag: the benchmark path without the tenant
// switch (noscope_bench.go) is compiled only with -tags benchnoscope; every
// other build, the production image's included, has the constant false and
// cannot reach it.
func TestBenchNoScopeOnlyWithItsTag(t *testing.T) {
	if BenchNoScope {
		t.Skip("this is the -tags benchnoscope build")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("the unscoped path ran in a build without -tags benchnoscope")
		}
	}()
	(&DB{}).sendUnscoped(nil, nil, "", "")
}
