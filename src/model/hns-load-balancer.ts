/** HNS's numbers in a load balancer document (hcsshim hcn/hcnloadbalancer.go), which the REST API reads and the CLI writes. */

/** PortMapping flags: ILB, LocalRoutedVIP (an ILB the host reaches too). */
export const LB_PORT_ILB = 1;
export const LB_PORT_LOCAL_ROUTED_VIP = 2;
/** Windows' VFP multiplexer for DSR NodePort traffic: no meaning on Linux, kept and shown. */
const LB_PORT_USE_MUX = 4;
/** Backends see the VIP as destination: what DSR does, so taken with DSR only. */
export const LB_PORT_PRESERVE_DIP = 8;
/** kube-proxy's own flag (not in hcsshim) on external-IP and ingress load balancers: kept and shown. */
const LB_PORT_VIP_EXTERNAL_IP = 16;

/** Port-mapping flags hostnet keeps and shows as given, since they change nothing in its kernel objects. */
export const LB_PORT_KEPT_FLAGS = LB_PORT_USE_MUX | LB_PORT_PRESERVE_DIP | LB_PORT_VIP_EXTERNAL_IP;

/** Load balancer flags: direct server return; an IPv6 load balancer. */
export const LB_DSR = 1;
export const LB_IPV6 = 2;

/**
 * How long a client keeps its backend after its last new connection (source-IP affinity) when a load
 * balancer says nothing and hostnetd is told nothing (`--lb-affinity-timeout`): Kubernetes' default for
 * ClientIP affinity. hostnet's own field `AffinityTimeoutSeconds` (HNS has none) takes 1 to
 * LB_AFFINITY_MAX_SECONDS, Kubernetes' range for `timeoutSeconds`.
 */
export const LB_AFFINITY_SECONDS = 10800;
export const LB_AFFINITY_MAX_SECONDS = 86400;

/** DistributionType: 0 random per connection; SourceIPProtocol and SourceIP both give source-IP affinity. */
export const LB_DISTRIBUTION_NONE = 0;
export const LB_DISTRIBUTION_SOURCE_IP_PROTOCOL = 1;
export const LB_DISTRIBUTION_SOURCE_IP = 2;
