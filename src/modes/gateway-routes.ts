/**
 * An attached endpoint's routes through its subnet's gateway in the container's namespace. Every endpoint
 * has its default route, with a metric that ranks it among the namespace's (its gateway priority, then its
 * attach order): the kernel uses the best one, and the next one takes over the moment the best one's link
 * goes, so no endpoint's objects depend on another's and a restart ranks them as before.
 *
 * Replies leave through the endpoint their request came in on, whichever holds the default route: a
 * published port's traffic reaches the endpoint's own address (the host's DNAT), so replies carry it as
 * their source, and two rules send what comes from that address to the endpoint's own table, whose default
 * route is its gateway. The first rule keeps every route of main but the default ones (suppress_prefixlength
 * 0), so the namespace's subnets and routes stay as they are for those packets too. No conntrack state is
 * needed: a flushed conntrack table or a restart changes nothing.
 */
import { MAIN_TABLE, type KernelObject } from "../dataplane/objects.js";
import { gatewayPriorities } from "../model/gateway.js";
import type { EndpointAddress, NamespaceAttachment } from "../model/types.js";

/** Before main's rule (32766), so that an address's rules decide first. */
const MAIN_RULE_PRIORITY = 32000;
const TABLE_RULE_PRIORITY = 32001;

/**
 * Lower is better to the kernel: a higher priority, then an earlier attach. Never below 1,000,000, so it is
 * never a kernel default (0, or 1024 for IPv6), which observation reads as no metric.
 */
const defaultRouteMetric = (priority: number, order: number): number =>
  (gatewayPriorities.max + 1 - priority) * 1_000_000 + order;

/**
 * The routing table of an endpoint's replies: one per attachment of the namespace, above the tables 1-252
 * that /etc/iproute2/rt_tables leaves to people.
 */
const replyTable = (order: number): number => 1000 + order;

/** The default route of one of the endpoint's addresses, and the routing of its replies. */
export function gatewayRoutes(
  owner: `ep:${string}`,
  netns: string,
  attachment: NamespaceAttachment,
  priority: number,
  address: EndpointAddress,
  gateway: string,
): KernelObject[] {
  const dev = attachment.ifname;
  const table = replyTable(attachment.order);
  const { family } = address;
  const route = { kind: "route", owner, netns, family, dst: "default", via: gateway, dev } as const;
  const rule = { kind: "routeRule", owner, netns, family, from: address.address } as const;
  return [
    { ...route, metric: defaultRouteMetric(priority, attachment.order) },
    { ...route, table },
    { ...rule, priority: MAIN_RULE_PRIORITY, table: MAIN_TABLE, suppressPrefixLength: 0 },
    { ...rule, priority: TABLE_RULE_PRIORITY, table },
  ];
}
