// Package netpol evaluates Kubernetes NetworkPolicy semantics over what a
// stack registers (inventory.Resource values): which flows the pods of each
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or bare Pod
// may open or accept. It exists because the SDK's mocks accept any policy,
// while a real cluster enforces them: a pod template whose labels no allow
// policy selects gets no DNS and no network under a default deny.
//
// Load reads a stack's resources into a Cluster; Cluster.Check (Egress,
// Ingress) judges one flow and Cluster.Summary lists every allowed flow of
// a workload. Answers are three-valued: a decision that depends on an input
// unknown during preview (a selector, a label, a CIDR, a namespace) is
// Unknown, with the inputs named, never allowed or denied by guess.
//
// # Semantics implemented
//
// From https://kubernetes.io/docs/concepts/services-networking/network-policies/
// and the networking.k8s.io/v1 API reference
// (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/):
//
//   - A pod is isolated for a direction iff at least one policy selecting it
//     (same namespace, spec.podSelector matches its labels; an empty
//     selector selects every pod of the namespace) has that direction in
//     spec.policyTypes. A direction that is not isolated allows everything.
//   - spec.policyTypes, when unset, is Ingress plus Egress iff spec.egress
//     has at least one rule (the API server's SetDefaults_NetworkPolicy).
//     So a policy with only egress rules and no policyTypes also isolates
//     ingress, and one without egress rules never isolates egress.
//   - Policies are additive: an isolated direction allows the union of the
//     rules of every policy that selects the pod and isolates it.
//   - A rule matches when the traffic matches one of its peers AND one of
//     its ports; an absent or empty from/to list matches every peer, an
//     absent or empty ports list every port and protocol.
//   - Peers: ipBlock (cidr minus except); podSelector alone = pods in the
//     policy's namespace; namespaceSelector alone = every pod of the
//     matching namespaces ({} = all namespaces); both in one peer element =
//     pods matching the podSelector in namespaces matching the
//     namespaceSelector (AND, not OR). Every namespace carries the label
//     kubernetes.io/metadata.name=<name>.
//   - Ports: protocol defaults to TCP; port is a number or a named
//     container port; endPort makes port..endPort a range.
//   - Label selectors: matchLabels and matchExpressions (In, NotIn, Exists,
//     DoesNotExist) all must hold.
//
// Not modelled: labels the controllers add to the pods (job-name,
// controller-uid, pod-template-hash...), only the template's own labels
// count; traffic from the pod's own node is always allowed to it,
// and a pod can always reach itself (both per the Kubernetes page above);
// replies to an allowed connection are allowed (connections are judged when
// opened); whether ipBlock matches pod IPs or rewritten Service IPs is left
// to the plugin by Kubernetes, so a pod peer is matched against ipBlocks
// only when the caller gives its IP.
//
// # The AWS VPC CNI (what EKS enforces with)
//
// The EKS user guide (https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy.html,
// "Considerations") documents these differences from the upstream
// semantics; the evaluator follows upstream and does not model them:
//
//   - "Network Policies are only applied to Pods that are part of a
//     Deployment. Standalone Pods that don't have a metadata.ownerReferences
//     set can't have network policies applied to them." Pods of Jobs,
//     CronJobs, StatefulSets... have ownerReferences; whether the agent
//     enforces them exactly like Deployment pods the guide does not say
//     more precisely, and we do not know. A bare Pod is judged here as
//     upstream would (isolated), which is the stricter answer.
//   - Policies apply on EC2 Linux nodes only (not Fargate, not Windows);
//     in an IPv4 cluster IPv6 rules are ignored and vice versa.
//   - At most 24 unique port combinations per protocol in each ingress or
//     egress selector of a policy.
//   - A Service's port must equal its container port (named ports: the same
//     name in the Service). The guide gives no reason; we do not know what
//     happens to a flow through a Service whose ports differ.
//   - Only a pod's primary interface (eth0) is filtered.
//
// Issues in the agent's trackers (not in the guide) report differences in
// some versions; we cannot tell which versions the cluster's add-on has,
// so they are noted, not modelled: ipBlock except ignored for 0.0.0.0/0
// (aws/aws-network-policy-agent#78, fixed by #58; #92 was still open when
// we looked), rules for the same CIDR not merged as a union of ports
// (aws/aws-network-policy-agent#180; aws/amazon-network-policy-controller-k8s#218),
// and named ports in ingress rules with ipBlock peers not resolved
// (aws/amazon-network-policy-controller-k8s#81, #92).
package netpol
