// Package components holds the platform's reusable Pulumi components, one
// per concern. Each takes a typed Args struct (its documented API), applies
// its defaults in one place, validates before registering anything, parents
// every child to itself and registers its outputs.
package components

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Helpers every component shares.

// nameTag is the Name tag the AWS console shows for a resource.
func nameTag(name string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(name)}
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// mustJSON is for policy documents built from literals only, where a
// marshalling error is a programming error.
func mustJSON(v any) string {
	s, err := jsonString(v)
	if err != nil {
		panic(err)
	}
	return s
}

// newKey creates a customer-managed KMS key with rotation and an alias, so
// encrypted data can be audited and access revoked per concern.
func newKey(ctx *pulumi.Context, name, description string, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          pulumi.String(description),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name, &kms.AliasArgs{
		Name:        pulumi.String("alias/" + name),
		TargetKeyId: key.KeyId,
	}, opts...); err != nil {
		return nil, err
	}
	return key, nil
}
