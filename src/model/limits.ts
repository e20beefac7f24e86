/**
 * The most items each list of a request may hold, so that no request can ask for more kernel objects, file
 * descriptors or converge time than a host can give (a load balancer of 10,000 VIPs made 640,000 nft elements
 * and held every other request for 20 s).
 * docs/api.md lists them, and a test holds the list to it.
 */
import { invalidArgument } from "../errors.js";

export const limits = {
  /** A load balancer's FrontendVIPs. */
  vips: 16,
  /** A load balancer's PortMappings. */
  lbPortMappings: 64,
  /**
   * A load balancer's backends: four times Windows' 1,024 per service; a frontend draws among 2^12 slots at
   * most, one draw chain per power of two.
   */
  lbBackends: 4096,
  /**
   * The nft elements of one load balancer's backends: a frontend (VIP . port mapping) is one element per
   * backend address of the VIP's family. One transaction of 65,536 elements holds the kernel about 0.6 s.
   */
  lbElements: 65536,
  /** Policies of one request (a network's, an endpoint's or a policy request's), port mappings among them. */
  policies: 1024,
  /** An endpoint's port mappings, through any door. */
  portMappings: 1024,
  /** A subnet's Routes. */
  routes: 16,
  /** The items of one list inside a policy's Settings (an ACL's addresses or ports, OutBoundNAT's Exceptions). */
  settingsList: 256,
} as const;

/** Refuses a list longer than `limit`, naming the first item beyond it. */
export function checkLength(items: readonly { readonly field: string }[], limit: number, what: string): void {
  const beyond = items[limit];
  if (beyond !== undefined)
    throw invalidArgument(beyond.field, `a request holds at most ${limit} ${what} (${items.length} given)`);
}

/** Refuses a list inside Settings (at `field`) longer than limits.settingsList. */
export function checkSettingsList(field: string, items: readonly unknown[]): void {
  if (items.length > limits.settingsList)
    throw invalidArgument(field, `holds at most ${limits.settingsList} items (${items.length} given)`);
}
