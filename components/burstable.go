package components

import (
	"fmt"
	"strings"
)

// IsBurstable reports whether an EC2 instance type (t3.medium) or an RDS
// instance class (db.t4g.medium) is a burstable T family: t2, t3, t3a, t4g.
// Those run on CPU credits; T3/T3a/T4g launch in unlimited mode unless told
// otherwise, and every CPU-minute above the baseline past the earned
// credits is billed as surplus credits.
func IsBurstable(instanceType string) bool {
	family, _, _ := strings.Cut(strings.TrimPrefix(instanceType, "db."), ".")
	return len(family) >= 2 && family[0] == 't' && family[1] >= '0' && family[1] <= '9'
}

// StandardCreditsFor decides the node launch template's CPU credit option.
// The node group has one launch template for every instance type it lists,
// so the option applies to all of them: all burstable gets "standard" (no
// surplus credits, ever: a busy node is throttled to its baseline instead of
// billed), none burstable gets no credit specification (it does not apply),
// and a mix is refused because one template cannot say both.
func StandardCreditsFor(instanceTypes []string) (bool, error) {
	var burst, other []string
	for _, t := range instanceTypes {
		if IsBurstable(t) {
			burst = append(burst, t)
		} else {
			other = append(other, t)
		}
	}
	if len(burst) > 0 && len(other) > 0 {
		return false, fmt.Errorf("%v are burstable (T family) and %v are not: the node group's one launch template sets "+
			"standard CPU credits for T instances, which does not apply to the others; list one kind", burst, other)
	}
	return len(burst) > 0, nil
}
