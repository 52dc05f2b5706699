package preflight

import (
	"encoding/json"

	"github.com/tenantco/platform/components"
)

// Policy is the IAM policy document preflight needs: exactly the actions it
// calls (components.PreflightActions, which the preview and deploy roles
// grant). `preflight --policy` prints it for any other role or permission set.
func Policy() ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": "Preflight", "Effect": "Allow", "Action": components.PreflightActions, "Resource": "*",
		}},
	}, "", "  ")
}
