package preflight

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/tenantco/platform/stacks"
)

// certificateMinValidity: a certificate that expires sooner fails. ACM
// renews its own certificates only while they are in use, which a
// certificate waiting for its first deploy is not.
const certificateMinValidity = 30 * 24 * time.Hour

// checkCertificate: platform:certificateArn exists in the stack's region and
// account, is ISSUED, stays valid for 30 days and covers
// platform:serviceHostname (CreateListener refuses anything else).
func checkCertificate(e *env) []Finding {
	if fs := placeholders(e.cfg, "certificateArn"); len(fs) > 0 {
		return fs
	}
	arn := e.cfg.CertificateArn
	parts := strings.Split(arn, ":")
	request := fmt.Sprintf("request one in %s (aws acm request-certificate --domain-name %s --validation-method DNS --region %s), "+
		"add the CNAME it asks for, wait for ISSUED, then pulumi config set %s:certificateArn <its ARN>",
		e.cfg.Region, hostOr(e.cfg.ServiceHostname), e.cfg.Region, stacks.Namespace)
	switch {
	case parts[3] != e.cfg.Region:
		return []Finding{fail(request, "%s is in %s, but the load balancer is in %s and can only use a certificate of its own region", arn, parts[3], e.cfg.Region)}
	case parts[4] != e.account:
		return []Finding{fail(request, "%s belongs to account %s, not %s: a load balancer can only use a certificate of its own account", arn, parts[4], e.account)}
	}
	out, err := e.aws.acm.DescribeCertificate(e.ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	if errCode(err) == "ResourceNotFoundException" {
		return []Finding{fail(request, "%s does not exist in account %s", arn, e.account)}
	}
	if err != nil {
		return []Finding{e.failed("certificate "+arn, err)}
	}
	c := out.Certificate
	var fs []Finding
	switch c.Status {
	case acmtypes.CertificateStatusIssued:
	case acmtypes.CertificateStatusPendingValidation:
		return []Finding{fail(fmt.Sprintf("create the DNS validation record(s) it asks for (aws acm describe-certificate --certificate-arn %s --region %s "+
			"--query 'Certificate.DomainValidationOptions[].ResourceRecord'); ACM issues it minutes after they resolve", arn, e.cfg.Region),
			"%s (%s) is %s: a listener cannot use it yet", arn, aws.ToString(c.DomainName), c.Status)}
	default:
		return []Finding{fail(request, "%s (%s) is %s, not ISSUED", arn, aws.ToString(c.DomainName), c.Status)}
	}
	notAfter := aws.ToTime(c.NotAfter)
	days := int(notAfter.Sub(e.now).Hours() / 24)
	switch {
	case !notAfter.After(e.now):
		fs = append(fs, fail(request, "%s expired on %s", arn, notAfter.Format(time.DateOnly)))
	case notAfter.Sub(e.now) < certificateMinValidity:
		fs = append(fs, fail("replace it: "+request, "%s expires on %s, in %d days (ACM renews only certificates in use; an imported one never)",
			arn, notAfter.Format(time.DateOnly), days))
	default:
		fs = append(fs, pass("%s is ISSUED, valid until %s (%d days)", arn, notAfter.Format(time.DateOnly), days))
	}
	names := append([]string{aws.ToString(c.DomainName)}, c.SubjectAlternativeNames...)
	names = dedupe(names)
	host := e.cfg.ServiceHostname
	switch match := covering(names, host); {
	case host == "":
		fs = append(fs, pass("covers %s; %s:serviceHostname is not set, so no host is checked against it", strings.Join(names, ", "), stacks.Namespace))
	case match == "":
		fs = append(fs, fail(fmt.Sprintf("%s, or correct %s:serviceHostname", request, stacks.Namespace),
			"covers %s, not %s (%s:serviceHostname): browsers would refuse the service", strings.Join(names, ", "), host, stacks.Namespace))
	default:
		fs = append(fs, pass("covers %s (%s:serviceHostname) through %s", host, stacks.Namespace, match))
	}
	return fs
}

// covering returns the certificate name that covers host: the same name, or
// a wildcard one label deep (*.example.com covers a.example.com, not
// a.b.example.com nor example.com), as TLS clients match (RFC 6125 6.4.3).
func covering(names []string, host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range names {
		n = strings.ToLower(n)
		if n == host {
			return n
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if label, parent, found := strings.Cut(host, "."); found && label != "" && parent == rest {
				return n
			}
		}
	}
	return ""
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func hostOr(h string) string {
	if h == "" {
		return "<the service's DNS name>"
	}
	return h
}
