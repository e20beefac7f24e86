/** Facts about hostnetd's namespace that are not hostnet's objects: prefixes already in use there. */
import { parsePrefix, type Prefix } from "../model/ip.js";
import type { Runner } from "./linux/exec.js";

interface Route {
  dst: string;
  type?: string;
}
interface Link {
  addr_info?: { local: string; prefixlen: number }[];
}

export async function hostPrefixes(runner: Runner): Promise<Prefix[]> {
  const [routes, links] = await Promise.all([
    runner.run(["ip", "-j", "-4", "route", "show", "table", "all"]),
    runner.run(["ip", "-j", "-4", "addr", "show"]),
  ]);
  const cidrs = [
    ...(JSON.parse(routes.stdout) as Route[])
      .filter((r) => r.dst !== "default" && r.type !== "broadcast" && r.type !== "local")
      .map((r) => (r.dst.includes("/") ? r.dst : `${r.dst}/32`)),
    ...(JSON.parse(links.stdout) as Link[]).flatMap((l) =>
      (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
    ),
  ];
  return cidrs.flatMap((c) => {
    try {
      return [parsePrefix("route", c)];
    } catch {
      return [];
    }
  });
}
