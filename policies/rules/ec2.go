package rules

import (
	"fmt"

	"github.com/tenantco/platform/internal/inventory"
)

const (
	typeLaunchTemplate = "aws:ec2/launchTemplate:LaunchTemplate"
	typeEBSVolume      = "aws:ebs/volume:Volume"
	typeEC2Instance    = "aws:ec2/instance:Instance"
)

var ebsEncrypted = Rule{
	ID: "ebs-encrypted",
	Description: `EBS volumes are encrypted: every launch template blockDeviceMappings[*].ebs.encrypted = "true", ` +
		"aws:ebs/volume encrypted = true, aws:ec2/instance rootBlockDevice.encrypted and ebsBlockDevices[*].encrypted = true.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeLaunchTemplate, typeEBSVolume, typeEC2Instance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		const why = "the volume and its snapshots would be unencrypted"
		switch r.Type {
		case typeEBSVolume:
			return requireBool(r, "encrypted", true, false, why)
		case typeEC2Instance:
			out := requireBool(r, "rootBlockDevice.encrypted", true, false, why)
			devices, st := r.ListAt("ebsBlockDevices")
			if st.Opaque() {
				return append(out, cannotVerify("ebsBlockDevices", st))
			}
			for i := range devices {
				out = append(out, requireBool(r, fmt.Sprintf("ebsBlockDevices.%d.encrypted", i), true, false, why)...)
			}
			return out
		}
		mappings, st := r.ListAt("blockDeviceMappings")
		switch {
		case st.Opaque():
			return []Finding{cannotVerify("blockDeviceMappings", st)}
		case len(mappings) == 0:
			return []Finding{fail(`blockDeviceMappings is not set: the root volume's encryption would be left to the AMI; ` +
				`declare the root device with ebs.encrypted = "true"`)}
		}
		var out []Finding
		for i, m := range mappings {
			path := fmt.Sprintf("blockDeviceMappings.%d", i)
			if _, mst := inventory.Classify(m); mst.Opaque() {
				out = append(out, cannotVerify(path, mst))
				continue
			}
			// Instance-store and suppressed devices are not EBS.
			_, virtual := r.Lookup(path + ".virtualName")
			_, noDevice := r.Lookup(path + ".noDevice")
			if virtual == inventory.StateKnown || noDevice == inventory.StateKnown {
				continue
			}
			out = append(out, requireBool(r, path+".ebs.encrypted", true, false, why)...)
		}
		return out
	},
}

var ec2IMDSv2Required = Rule{
	ID:          "ec2-imdsv2-required",
	Description: `EC2 instances require IMDSv2: metadataOptions.httpTokens = "required" on launch templates and instances.`,
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeLaunchTemplate, typeEC2Instance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		tokens, st := r.StringAt("metadataOptions.httpTokens")
		switch {
		case st.Opaque():
			return []Finding{cannotVerify("metadataOptions.httpTokens", st)}
		case st == inventory.StateAbsent:
			return []Finding{fail(`metadataOptions.httpTokens is not set: IMDSv1 would stay enabled; set it to "required"`)}
		case tokens != "required":
			return []Finding{fail(`metadataOptions.httpTokens is %q: IMDSv1 stays enabled; set it to "required"`, tokens)}
		}
		return nil
	},
}
