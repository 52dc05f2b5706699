package cost

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Data stores: RDS instances and ElastiCache replication groups.

func (e *estimator) rdsInstance(r *inventory.Resource) {
	class, st := r.StringAt("instanceClass")
	if st != inventory.StateKnown {
		e.cannot(r, "RDS instance class", notKnown(st))
		return
	}
	engine, est := r.StringAt("engine")
	switch est {
	case inventory.StateUnknown:
		engine = "postgres"
		e.note(r, "engine", "engine unknown (preview): priced as PostgreSQL")
	case inventory.StateAbsent:
		e.cannot(r, "RDS engine", "is not set")
		return
	}
	multi, mst := r.BoolAt("multiAz")
	if mst == inventory.StateUnknown {
		multi = true
		e.note(r, "multiAz", "multiAz unknown (preview): priced Multi-AZ (ceiling)")
	}
	az := "single-az"
	if multi {
		az = "multi-az"
	}
	inst, ok := e.rate(r, fmt.Sprintf("rds.instance.%s.%s.%s", engine, class, az), "RDS instance class", fmt.Sprintf("%s %s %s", class, engine, az))
	if ok {
		e.add(r, "instance hours", e.u.HoursPerMonth, "hours", inst.Price, false)
		e.rdsCredits(r, class, inst)
	}

	gb, gst := r.NumberAt("allocatedStorage")
	if gst != inventory.StateKnown {
		gb = 20
		e.note(r, "allocatedStorage", "allocatedStorage not known: 20 GB assumed (the gp3 minimum)")
	}
	stype, tst := r.StringAt("storageType")
	if tst != inventory.StateKnown {
		stype = "gp2"
		if _, iops := r.Get("iops"); iops {
			stype = "io1"
		}
		e.note(r, "storageType", fmt.Sprintf("storageType not known: %s assumed (provider default)", stype))
	}
	if p, ok := e.rate(r, fmt.Sprintf("rds.storage.%s.%s", stype, az), "RDS storage type", stype+" "+az); ok {
		e.add(r, "storage", gb, "GB-month", p.Price, false)
	}

	// Backup storage beyond the free 100 % of allocated storage (usage).
	ret, rst := r.NumberAt("backupRetentionPeriod")
	if rst == inventory.StateKnown && ret == 0 {
		e.note(r, "backupRetentionPeriod", "backupRetentionPeriod 0: no automated backups, no backup storage")
	} else if p, ok := e.rate(r, "rds.backup", "price", "RDS backup storage"); ok {
		share := e.u.BackupGBBeyondFree / float64(max(e.rdsInstances, 1))
		e.add(r, "backup storage", share, "GB-month", p.Price, true)
		if rst == inventory.StateKnown && ret > 7 && e.u.BackupGBBeyondFree == 0 {
			e.note(r, "backupRetentionPeriod", fmt.Sprintf("backupRetentionPeriod %s days > 7 while platform:usage.backupGbBeyondFree is 0: backups may exceed the free allocation", num(ret)))
		}
	}

	// Performance Insights: 7 days are free, longer retention is per vCPU-month
	// (both instances of a Multi-AZ deployment count).
	pi, pst := r.BoolAt("performanceInsightsEnabled")
	if pst == inventory.StateKnown && pi || pst == inventory.StateUnknown {
		days, dst := r.NumberAt("performanceInsightsRetentionPeriod")
		if dst == inventory.StateAbsent {
			days = 7
		}
		priced := dst == inventory.StateUnknown || days > 7
		if priced && (dst == inventory.StateUnknown || pst == inventory.StateUnknown) {
			e.note(r, "performanceInsights", "Performance Insights enabled/retention unknown (preview): long-term retention priced (conservative)")
		}
		if priced {
			if ok && inst.VCPU == 0 {
				e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "vCPU count of RDS instance class", Value: class, Key: inst.Key})
			} else if p, pok := e.rate(r, "rds.performance-insights", "price", "Performance Insights"); pok && ok {
				vcpu := float64(inst.VCPU)
				if multi {
					vcpu *= 2
				}
				e.add(r, "Performance Insights", vcpu, "vCPU-month", p.Price, false)
			}
		}
	}

	if mp, st := r.BoolAt("manageMasterUserPassword"); st == inventory.StateKnown && mp {
		if p, ok := e.rate(r, "secretsmanager.secret", "price", "Secrets Manager secret"); ok {
			e.add(r, "managed master secret", 1, "month", p.Price, false)
		}
	}
}

func (e *estimator) replicationGroup(r *inventory.Resource) {
	nodeType, st := r.StringAt("nodeType")
	if st != inventory.StateKnown {
		e.cannot(r, "ElastiCache node type", notKnown(st))
		return
	}
	engine, est := r.StringAt("engine")
	if est != inventory.StateKnown {
		engine = "redis"
		if est == inventory.StateUnknown {
			e.note(r, "engine", "engine unknown (preview): priced as Redis OSS (the dearer engine)")
		}
	}
	factor := 1.0
	switch strings.ToLower(engine) {
	case "redis":
	case "valkey":
		f, ok := e.rate(r, "elasticache.valkey-factor", "price", "Valkey factor")
		if !ok {
			return
		}
		factor = f.Price
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "ElastiCache engine", Value: engine, Key: "elasticache.node." + strings.ToLower(engine) + "." + nodeType})
		return
	}
	var nodes float64
	if n, st := r.NumberAt("numCacheClusters"); st == inventory.StateKnown {
		nodes = n
	} else {
		groups, gst := r.NumberAt("numNodeGroups")
		reps, rst := r.NumberAt("replicasPerNodeGroup")
		switch {
		case gst == inventory.StateKnown && rst == inventory.StateKnown:
			nodes = groups * (reps + 1)
		case gst == inventory.StateKnown:
			nodes = groups
			if rst == inventory.StateUnknown {
				nodes = groups * 2
				e.note(r, "replicasPerNodeGroup", "replicasPerNodeGroup unknown (preview): 1 replica per node group assumed")
			}
		case st == inventory.StateUnknown || gst == inventory.StateUnknown:
			nodes = 2
			e.note(r, "numCacheClusters", "node count unknown (preview): 2 nodes assumed (primary + replica)")
		default:
			nodes = 1
			e.note(r, "numCacheClusters", "numCacheClusters/numNodeGroups not set: 1 node (AWS default)")
		}
	}
	p, ok := e.rate(r, "elasticache.node.redis."+nodeType, "ElastiCache node type", nodeType)
	if !ok {
		return
	}
	if factor != 1 {
		e.note(r, "engine", fmt.Sprintf("Valkey: Redis OSS node price x %s", num(factor)))
	}
	e.add(r, "node hours", nodes*e.u.HoursPerMonth, "hours", p.Price*factor, false)
}
