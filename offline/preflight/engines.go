package preflight

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/tenantco/platform/stacks"
)

// The storage the Database component asks for, and the engines the program
// runs.
const (
	dbStorageType = "gp3"
	dbEngine      = "postgres"
	cacheEngine   = "redis"
)

// checkEngines: the PostgreSQL version is creatable and the class orderable
// Multi-AZ with gp3 (CreateDBInstance refuses otherwise); the Redis version
// and node type are offered.
func checkEngines(e *env) []Finding {
	var db, cache []Finding
	parallel(func() { db = e.database() }, func() { cache = e.cache() })
	return append(db, cache...)
}

func (e *env) database() []Finding {
	c := e.cfg
	// A major ("16") lets RDS pick that major's default minor, which is
	// what CreateDBInstance does with it; a pin must exist as given.
	pinned := strings.Contains(c.DBEngineVersion, ".")
	var versions []string
	p := rds.NewDescribeDBEngineVersionsPaginator(e.aws.rds, &rds.DescribeDBEngineVersionsInput{
		Engine: aws.String(dbEngine), EngineVersion: aws.String(c.DBEngineVersion), DefaultOnly: aws.Bool(!pinned),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			return []Finding{e.failed("PostgreSQL "+c.DBEngineVersion, err)}
		}
		for _, v := range page.DBEngineVersions {
			versions = append(versions, aws.ToString(v.EngineVersion))
		}
	}
	if len(versions) == 0 {
		return []Finding{fail(fmt.Sprintf("pick a version RDS offers (aws rds describe-db-engine-versions --engine postgres --region %s "+
			"--query 'DBEngineVersions[].EngineVersion'), then pulumi config set %s:dbEngineVersion <version>", c.Region, stacks.Namespace),
			"PostgreSQL %s (%s:dbEngineVersion) is not offered for new instances in %s", c.DBEngineVersion, stacks.Namespace, c.Region)}
	}
	version := versions[0]
	what := "PostgreSQL " + version
	if !pinned {
		what = fmt.Sprintf("PostgreSQL %s (the default of major %s)", version, c.DBEngineVersion)
	}
	var multiAZ, offered []string
	op := rds.NewDescribeOrderableDBInstanceOptionsPaginator(e.aws.rds, &rds.DescribeOrderableDBInstanceOptionsInput{
		Engine: aws.String(dbEngine), EngineVersion: aws.String(version), DBInstanceClass: aws.String(c.DBInstanceClass), Vpc: aws.Bool(true),
	})
	for op.HasMorePages() {
		page, err := op.NextPage(e.ctx)
		if err != nil {
			return []Finding{e.failed(c.DBInstanceClass+" for "+what, err)}
		}
		for _, o := range page.OrderableDBInstanceOptions {
			storage := aws.ToString(o.StorageType)
			az := "single-AZ"
			if aws.ToBool(o.MultiAZCapable) {
				az = "Multi-AZ"
				if storage == dbStorageType {
					multiAZ = append(multiAZ, storage)
				}
			}
			offered = append(offered, az+" "+storage)
		}
	}
	fix := fmt.Sprintf("pick a class orderable Multi-AZ with gp3 (aws rds describe-orderable-db-instance-options --engine postgres --engine-version %s --vpc "+
		"--region %s --query 'OrderableDBInstanceOptions[?MultiAZCapable && StorageType==`gp3`].DBInstanceClass'), then pulumi config set %s:dbInstanceClass <class>",
		version, c.Region, stacks.Namespace)
	switch {
	case len(offered) == 0:
		return []Finding{fail(fix, "%s (%s:dbInstanceClass) cannot be ordered for %s in %s", c.DBInstanceClass, stacks.Namespace, what, c.Region)}
	case len(multiAZ) == 0:
		return []Finding{fail(fix, "%s is orderable for %s only as %s, not Multi-AZ with gp3 (the Database component is both)",
			c.DBInstanceClass, what, strings.Join(dedupe(sorted(offered)), ", "))}
	}
	return []Finding{pass("%s creatable; %s orderable Multi-AZ with gp3", what, c.DBInstanceClass)}
}

func (e *env) cache() []Finding {
	c := e.cfg
	out, err := e.aws.cache.DescribeCacheEngineVersions(e.ctx, &elasticache.DescribeCacheEngineVersionsInput{
		Engine: aws.String(cacheEngine), EngineVersion: aws.String(c.CacheEngineVersion),
	})
	if err != nil {
		return []Finding{e.failed("Redis "+c.CacheEngineVersion, err)}
	}
	var fs []Finding
	if len(out.CacheEngineVersions) == 0 {
		fs = append(fs, fail(fmt.Sprintf("pick a version ElastiCache offers (aws elasticache describe-cache-engine-versions --engine redis --region %s "+
			"--query 'CacheEngineVersions[].EngineVersion'), then pulumi config set %s:cacheEngineVersion <version>", c.Region, stacks.Namespace),
			"Redis %s (%s:cacheEngineVersion) is not offered in %s", c.CacheEngineVersion, stacks.Namespace, c.Region))
	} else {
		fs = append(fs, pass("Redis %s offered", c.CacheEngineVersion))
	}
	// ElastiCache has no "orderable node types" call; every node type it
	// sells in a region has reserved-node offerings there, so none at all
	// means the type is not sold here (or is too new to have them): a
	// warning, not a failure.
	res, err := e.aws.cache.DescribeReservedCacheNodesOfferings(e.ctx, &elasticache.DescribeReservedCacheNodesOfferingsInput{
		CacheNodeType: aws.String(c.CacheNodeType), MaxRecords: aws.Int32(20),
	})
	switch {
	case err != nil:
		fs = append(fs, e.failed("node type "+c.CacheNodeType, err))
	case len(res.ReservedCacheNodesOfferings) == 0:
		fs = append(fs, warn(fmt.Sprintf("check it is sold in %s (console: ElastiCache > Reserved nodes > Purchase, or the price list); if not, "+
			"pulumi config set %s:cacheNodeType <type>", c.Region, stacks.Namespace),
			"no ElastiCache offering in %s lists node type %s (%s:cacheNodeType)", c.Region, c.CacheNodeType, stacks.Namespace))
	default:
		fs = append(fs, pass("node type %s sold in %s", c.CacheNodeType, c.Region))
	}
	return fs
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}
