/** Field-level checks shared by every front door; each throws InvalidArgument naming the field. */
import { invalidArgument } from "../errors.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function checkName(field: string, name: string): string {
  if (!NAME.test(name))
    throw invalidArgument(
      field,
      `"${name}" is not a valid name (1-128 characters: letters, digits, "_", "." and "-", starting with a letter or digit)`,
    );
  return name;
}

/**
 * Names an interface cannot take: `all` and `default` are the kernel's per-family settings beside each
 * interface's (/proc/sys/net/ipv4/conf/all), and `lo` is in every namespace already.
 */
const RESERVED_IFNAMES = ["all", "default", "lo"];

export function checkIfname(field: string, name: string): string {
  if (!IFNAME.test(name) || name === "." || name === "..")
    throw invalidArgument(
      field,
      `"${name}" is not a valid interface name (1-15 characters: letters, digits, "_", "." and "-")`,
    );
  if (RESERVED_IFNAMES.includes(name))
    throw invalidArgument(field, `"${name}" is a name the kernel keeps (${RESERVED_IFNAMES.join(", ")})`);
  return name;
}

export function checkMac(field: string, text: string): string {
  const mac = text.toLowerCase();
  if (!MAC.test(mac)) throw invalidArgument(field, `"${text}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1)
    throw invalidArgument(field, `"${text}" is a multicast MAC address; an endpoint needs a unicast one`);
  if (mac === "00:00:00:00:00:00") throw invalidArgument(field, "the all-zero MAC address is not usable");
  return mac;
}

export function checkPort(field: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw invalidArgument(field, `${port} is not a port number (1-65535)`);
  return port;
}

/** The least MTU IPv6 needs, and hostnet's floor for every network. */
export const MIN_MTU = 1280;

export function checkMtu(field: string, mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > 65535)
    throw invalidArgument(field, `${mtu} is not a usable MTU (1280-65535; IPv6 needs at least 1280)`);
  return mtu;
}
