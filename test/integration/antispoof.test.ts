import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";

/** One ping from `ns` with the given source address; true when it was answered. */
async function pingFrom(ns: string, source: string, target: string): Promise<boolean> {
  const r = await run(inNs(ns, ["ping", "-n", "-q", "-c", "1", "-W", "1", "-I", source, target]));
  return r.code === 0;
}

describe.skipIf(needsRoot)("anti-spoofing: a container sends only from its own addresses and MAC", () => {
  const lab = useLab();
  let t: Topology;
  const eps: Record<string, EndpointBody> = {};
  const v4 = (name: string): string => eps[name]?.IpConfigurations[0]?.IpAddress ?? "";
  const v6 = (name: string): string => eps[name]?.IpConfigurations[1]?.IpAddress ?? "";

  beforeAll(async () => {
    ({ t } = lab);
    await lab.network("n1", ["10.23.0.0/24", "fd23::/64"]);
    for (const name of ["s1", "s2"]) eps[name] = await lab.container(name, "n1");
  });

  it("drops packets from a forged IPv4 or IPv6 source address", async () => {
    expect(await pingFrom(t.ns("s1"), v4("s1"), v4("s2"))).toBe(true);
    expect(await pingFrom(t.ns("s1"), v6("s1"), v6("s2"))).toBe(true);
    await must(["ip", "-n", t.ns("s1"), "addr", "add", "10.23.0.99/32", "dev", "eth0"]);
    await must(["ip", "-n", t.ns("s1"), "addr", "add", "fd23::99/128", "dev", "eth0", "nodad"]);
    expect(await pingFrom(t.ns("s1"), "10.23.0.99", v4("s2"))).toBe(false);
    expect(await pingFrom(t.ns("s1"), "fd23::99", v6("s2"))).toBe(false);
    expect(await pingFrom(t.ns("s1"), "10.23.0.99", t.extIp4)).toBe(false);
  });

  it("drops frames from a forged MAC address, and passes them again once it is restored", async () => {
    const forge = async (mac: string): Promise<void> => {
      await must(["ip", "-n", t.ns("s1"), "link", "set", "dev", "eth0", "address", mac]);
      await must(["ip", "-n", t.ns("s1"), "neigh", "flush", "dev", "eth0"]);
      await must(["ip", "-n", t.ns("s2"), "neigh", "flush", "dev", "eth0"]);
    };
    await forge("02:de:ad:be:ef:01");
    expect(await ping(t.ns("s1"), v4("s2"))).toBe(false);
    await forge(eps["s1"]?.MacAddress ?? "");
    expect(await ping(t.ns("s1"), v4("s2"))).toBe(true);
  });
});
