package cost

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Burstable (T family) CPU credits. A T instance earns credits at its
// baseline (a share of each vCPU); in unlimited mode it keeps running above
// the baseline once they are spent and each vCPU-hour above it is billed as
// surplus credits, on top of the instance hours. The worst case is every
// vCPU busy all month: (1 - baseline) x vCPUs x hours. The ceiling case
// (MONTHLY) prices that worst case wherever unlimited mode can happen; the
// expected case assumes no surplus (a dev workload idles far below the
// baseline). Rows: <ec2|rds>.cpu-credits.* (price per vCPU-hour) and
// <ec2|rds>.cpu-baseline.<class> (the baseline share, a ratio).

// burstFamily returns the T family of an instance type or class (t3 of
// t3.medium, t4g of db.t4g.medium), or "" for a non-burstable one.
func burstFamily(instanceType string) string {
	family, _, _ := strings.Cut(strings.TrimPrefix(instanceType, "db."), ".")
	if len(family) >= 2 && family[0] == 't' && family[1] >= '0' && family[1] <= '9' {
		return family
	}
	return ""
}

// unlimitedByDefault: T3, T3a and T4g launch unlimited unless the launch
// sets standard; T2 launches standard (EC2 User Guide, "Burstable
// performance instances": unlimited mode is the default for T3/T3a/T4g).
func unlimitedByDefault(family string) bool { return family != "t2" }

// nodeCredits prices the surplus-credit worst case of a node group of
// burstable instances whose launch does not pin standard credits. lt is the
// group's launch template when the model found it; hasLT says the group
// names one the model could not resolve.
func (e *estimator) nodeCredits(r, lt *inventory.Resource, hasLT bool, instanceType string, n nodeCount) {
	family := burstFamily(instanceType)
	if family == "" || n.err != "" {
		return
	}
	mode, why := "", ""
	switch {
	case lt != nil:
		v, st := lt.StringAt("creditSpecification.cpuCredits")
		switch st {
		case inventory.StateKnown:
			mode, why = v, fmt.Sprintf("launch template %q sets %s credits", name(lt), v)
		case inventory.StateUnknown:
			mode, why = "unlimited", fmt.Sprintf("launch template %q credit option unknown (preview): unlimited assumed (ceiling)", name(lt))
		default:
			why = fmt.Sprintf("launch template %q sets no credit option", name(lt))
		}
	case hasLT:
		mode, why = "unlimited", "launch template not resolvable: unlimited credits assumed (ceiling)"
	default:
		why = "no launch template sets a credit option"
	}
	if mode == "" {
		mode = "standard"
		if unlimitedByDefault(family) {
			mode = "unlimited"
		}
		why += fmt.Sprintf(": %s launches %s by default", family, mode)
	}
	if mode == "standard" {
		e.note(r, "cpuCredits", fmt.Sprintf("%s nodes in standard credit mode (%s): throttled to the baseline, never billed surplus credits", instanceType, why))
		return
	}
	inst, ok1 := e.rate(r, "ec2.instance."+instanceType, "instance type", instanceType)
	base, ok2 := e.rate(r, "ec2.cpu-baseline."+instanceType, "CPU baseline of burstable instance type", instanceType)
	credit, ok3 := e.rate(r, "ec2.cpu-credits."+family, "surplus CPU credit price of family", family)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	if inst.VCPU == 0 {
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "vCPU count of instance type", Value: instanceType, Key: inst.Key})
		return
	}
	perNode := float64(inst.VCPU) * (1 - base.Price) * e.u.HoursPerMonth
	e.add2(r, "CPU credits (unlimited, worst case)", n.max*perNode, 0, "vCPU-hours", credit.Price, false)
	e.note(r, "cpuCredits", fmt.Sprintf("%s nodes in unlimited credit mode (%s): the ceiling prices every vCPU busy all month above the %s %% baseline "+
		"(%s nodes x %d vCPU x %s x %s h x $%s per vCPU-hour); the expected case assumes no surplus. Set standard credits in the launch template to remove it",
		instanceType, why, num(base.Price*100), num(n.max), inst.VCPU, num(1-base.Price), num(e.u.HoursPerMonth), num(credit.Price)))
}

// rdsCredits prices the surplus-credit worst case of a burstable RDS class:
// RDS runs db.t3 and db.t4g in unlimited mode only (RDS User Guide, "DB
// instance class types", burstable performance). Only the primary serves
// the workload, so a Multi-AZ standby is not counted.
func (e *estimator) rdsCredits(r *inventory.Resource, class string, inst PriceRow) {
	family := burstFamily(class)
	if family == "" {
		return
	}
	base, ok1 := e.rate(r, "rds.cpu-baseline."+class, "CPU baseline of burstable RDS class", class)
	credit, ok2 := e.rate(r, "rds.cpu-credits", "price", "RDS surplus CPU credits")
	if !ok1 || !ok2 {
		return
	}
	if inst.VCPU == 0 {
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "vCPU count of RDS instance class", Value: class, Key: inst.Key})
		return
	}
	qty := float64(inst.VCPU) * (1 - base.Price) * e.u.HoursPerMonth
	e.add2(r, "CPU credits (unlimited, worst case)", qty, 0, "vCPU-hours", credit.Price, false)
	e.note(r, "cpuCredits", fmt.Sprintf("%s is burstable and RDS runs it in unlimited mode only: the ceiling prices the primary's %d vCPU busy all month above the %s %% baseline "+
		"(%d vCPU x %s x %s h x $%s per vCPU-hour); the expected case assumes no surplus",
		class, inst.VCPU, num(base.Price*100), inst.VCPU, num(1-base.Price), num(e.u.HoursPerMonth), num(credit.Price)))
}
