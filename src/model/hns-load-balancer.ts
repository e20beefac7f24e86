/** HNS's numbers in a load balancer document, which the REST API reads and the CLI writes. */

/**
 * PortMapping flags: ILB, LocalRoutedVip (an ILB the host reaches too), IPv6 (hostnet reads the family from
 * each VIP, so it only checks the flag is consistent with them).
 */
export const LB_PORT_ILB = 1;
export const LB_PORT_LOCAL_ROUTED_VIP = 2;
export const LB_PORT_IPV6 = 4;

/** Load balancer flags: direct server return. */
export const LB_DSR = 1;

/** DistributionType: 0 random per connection; SourceIPProtocol and SourceIP both give source-IP affinity. */
export const LB_DISTRIBUTION_NONE = 0;
export const LB_DISTRIBUTION_SOURCE_IP_PROTOCOL = 1;
export const LB_DISTRIBUTION_SOURCE_IP = 2;
