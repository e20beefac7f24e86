/**
 * Which endpoint of a namespace holds its default route: the one of highest gateway priority, and among
 * equals the one attached first (modes/gateway-routes.ts makes it a route metric the kernel compares).
 */

/** The gateway priorities an endpoint may have (Docker's gw-priority); 0 unless asked. */
export const gatewayPriorities = { min: -100, max: 100 } as const;

/** How many endpoints a namespace may take in turn while it is never without one (attach order 1 onwards). */
export const MAX_ATTACH_ORDER = 999_999;
