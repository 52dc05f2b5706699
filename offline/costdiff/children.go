package costdiff

// The program registers the pulumi-eks v2.8.1 components; their provider
// creates the AWS resources (under mocks only the component reaches the
// review). childInputs rebuilds the inputs the component gives its child,
// as the v2.8.1 sources do, so that the child's replace-only inputs apply.
// A value the component derives from another resource (the cluster's name
// for the node group, a role's ARN) is kept as that resource's reference:
// it changes when that resource is replaced.

// childInputs returns the child's inputs and, per input path, the URNs its
// value comes from.
func childInputs(r *Resource, d *Doc) (map[string]any, map[string][]string) {
	switch r.Type {
	case typeClusterComp:
		return clusterChild(r)
	case typeNodeGroupMNG:
		return managedNodeGroupChild(r, d)
	}
	return r.Inputs, map[string][]string{}
}

// clusterChild follows nodejs/eks/cluster.ts createCore: new aws.eks.Cluster.
func clusterChild(r *Resource) (map[string]any, map[string][]string) {
	in := r.Inputs
	out := map[string]any{}
	refs := map[string][]string{}
	copyIf := func(to, from string) {
		if v, ok := lookup(in, from); ok {
			out[to] = v
		}
	}
	// Left out, the provider names the cluster (<name>-eksCluster-<random>):
	// a replacement gets a new name.
	copyIf("name", "name")
	if role, ok := in["serviceRole"].(string); ok {
		out["roleArn"] = role
		refs["roleArn"] = []string{role}
	} else {
		out["roleArn"] = r.URN + "/eksRole.arn" // the component's own ServiceRole
	}
	copyIf("version", "version")
	copyIf("enabledClusterLogTypes", "enabledClusterLogTypes")
	if key, ok := lookup(in, "encryptionConfigKeyArn"); ok {
		out["encryptionConfig"] = map[string]any{
			"provider":  map[string]any{"keyArn": key},
			"resources": []any{"secrets"},
		}
	}
	rng, hasRange := lookup(in, "kubernetesServiceIpAddressRange")
	family, hasFamily := lookup(in, "ipFamily")
	if hasRange || hasFamily {
		if !hasFamily {
			family = "ipv4"
		}
		knc := map[string]any{"ipFamily": family}
		if family == "ipv4" && hasRange {
			knc["serviceIpv4Cidr"] = rng
		}
		out["kubernetesNetworkConfig"] = knc
	}
	sg := any(r.URN + "/eksClusterSecurityGroup.id")
	if v, ok := lookup(in, "clusterSecurityGroup"); ok {
		sg = v
	}
	vpc := map[string]any{"securityGroupIds": []any{sg}, "subnetIds": clusterSubnets(in)}
	for _, k := range []string{"endpointPrivateAccess", "endpointPublicAccess", "publicAccessCidrs"} {
		if v, ok := in[k]; ok {
			vpc[k] = v
		}
	}
	out["vpcConfig"] = vpc
	if mode, ok := lookup(in, "authenticationMode"); ok {
		// bootstrapClusterCreatorAdminPermissions is always true here (and
		// ignored in changes by the component).
		out["accessConfig"] = map[string]any{"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": true}
	}
	return out, refs
}

// clusterSubnets is the cluster's subnetIds, else its public then private
// subnets (createCore's clusterSubnetIds; without any, the default VPC's,
// which the review does not know).
func clusterSubnets(in map[string]any) any {
	if v, ok := lookup(in, "subnetIds"); ok {
		return v
	}
	pub, pok := in["publicSubnetIds"].([]any)
	priv, vok := in["privateSubnetIds"].([]any)
	if !pok && !vok {
		return unknownMarker
	}
	return append(append([]any{}, pub...), priv...)
}

// managedNodeGroupChild follows nodejs/eks/nodegroup.ts
// createManagedNodeGroupInternal: new aws.eks.NodeGroup(name, {...args,
// clusterName, nodeRoleArn, scalingConfig, subnetIds, launchTemplate}).
func managedNodeGroupChild(r *Resource, d *Doc) (map[string]any, map[string][]string) {
	in := r.Inputs
	out := map[string]any{}
	refs := map[string][]string{}
	for k, v := range in {
		out[k] = v
	}
	delete(out, "cluster")
	clusterURN, _ := in["cluster"].(string)
	var cluster *Resource
	for i := range d.Resources {
		if d.Resources[i].URN == clusterURN {
			cluster = &d.Resources[i]
		}
	}
	// clusterName: args.clusterName || core.cluster.name
	if _, ok := in["clusterName"]; !ok && clusterURN != "" {
		refs["clusterName"] = []string{clusterURN}
		if cluster != nil {
			if name, ok := lookup(cluster.Inputs, "name"); ok {
				out["clusterName"] = name
			} else {
				out["clusterName"] = clusterURN + "/eksCluster.name"
			}
		} else {
			out["clusterName"] = clusterURN + "/eksCluster.name"
		}
	}
	// nodeRoleArn: args.nodeRoleArn, else args.nodeRole.arn
	if _, ok := in["nodeRoleArn"]; !ok {
		if role, ok := in["nodeRole"].(string); ok {
			out["nodeRoleArn"] = role + ".arn"
			refs["nodeRoleArn"] = []string{role}
		}
	}
	delete(out, "nodeRole")
	// subnetIds: args.subnetIds, else the cluster's (core.subnetIds)
	if _, ok := in["subnetIds"]; !ok && cluster != nil {
		out["subnetIds"] = clusterSubnets(cluster.Inputs)
		refs["subnetIds"] = []string{cluster.URN}
	}
	// kubeletExtraArgs, bootstrapExtraArgs or enableIMDSv2 make the
	// component create its own launch template (and drop diskSize): the
	// group points at that template's id.
	custom := false
	for _, k := range []string{"kubeletExtraArgs", "bootstrapExtraArgs", "enableIMDSv2"} {
		if v, ok := in[k]; ok && v != false && v != "" {
			custom = true
		}
		delete(out, k)
	}
	if custom {
		out["launchTemplate"] = map[string]any{"id": r.URN + "/launchTemplate.id"}
		delete(out, "diskSize")
	}
	return out, refs
}
