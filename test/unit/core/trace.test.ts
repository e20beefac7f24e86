/**
 * `hostnet trace` in the core: the request checked against the endpoint before anything is marked, the
 * probe it asks the dataplane for, and the path told in the store's words. The dataplane's part runs in
 * test/integration/trace.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { TraceCapture, TraceProbe, TraceWatch } from "../../../src/dataplane/trace.js";
import type { TraceHop } from "../../../src/dataplane/trace-events.js";
import { endpointHostInterface, networkBridge } from "../../../src/core/kernel-names.js";
import { parsePolicies } from "../../../src/policies/parse.js";
import { harness, rejection, type Harness } from "../harness.js";
import { epSpec, mapping, networkAndNamespace, subnet, netSpec } from "./requests.js";

/**
 * A harness whose traces answer with `hops` (a probe's "answered"; a watch's packet seen unless `seen` is
 * false), keeping the probes and watches asked for.
 */
function tracing(
  hops: () => TraceHop[],
  dropped = false,
  seen = true,
): { h: Harness; probes: (TraceProbe | TraceWatch)[] } {
  const probes: (TraceProbe | TraceWatch)[] = [];
  const h = harness({
    trace: (trace): Promise<TraceCapture> => {
      probes.push(trace);
      if (trace.mode === "watch")
        return Promise.resolve(
          seen
            ? { lines: ["trace id 1 …"], path: { hops: hops(), dropped }, source: "10.30.0.77" }
            : { lines: [], path: { hops: [], dropped: false } },
        );
      return Promise.resolve({ lines: ["trace id 1 …"], path: { hops: hops(), dropped }, probe: "answered" });
    },
  });
  return { h, probes };
}

describe("trace", () => {
  let h: Harness | undefined;
  afterEach(() => h?.close());

  it("sends the probe from the endpoint's namespace, host veth and address of the destination's family", async () => {
    const t = tracing(() => []);
    h = t.h;
    const { nsName } = await networkAndNamespace(h);
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const ns = h.service.namespace(nsName);
    const report = await h.service.trace({
      endpoint: "e1",
      destination: "2001:db8::0:9",
      protocol: "tcp",
      port: 443,
    });
    expect(t.probes).toEqual([
      {
        mode: "probe",
        netns: ns.path,
        source: ep.addresses.find((a) => a.address.includes(":"))?.address,
        veth: endpointHostInterface(ep),
        family: 6,
        protocol: "tcp",
        destination: "2001:db8::9",
        port: 443,
      },
    ]);
    expect(report).toMatchObject({
      endpoint: "e1",
      destination: "2001:db8::9",
      probe: "answered",
      dropped: false,
    });
  });

  it("watches the endpoint's flow without a probe, and tells the packet's source and whether it came", async () => {
    const t = tracing(() => [{ kind: "left", oif: "eth0" }]);
    h = t.h;
    const { nsName } = await networkAndNamespace(h);
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const report = await h.service.trace({
      endpoint: "e1",
      destination: "192.0.2.9",
      protocol: "udp",
      port: 53,
      watch: true,
    });
    expect(t.probes).toEqual([
      {
        mode: "watch",
        veth: endpointHostInterface(ep),
        family: 4,
        protocol: "udp",
        destination: "192.0.2.9",
        port: 53,
        timeoutMs: 30_000,
      },
    ]);
    expect(report).toMatchObject({ source: "10.30.0.77", watched: { seen: true, timeoutSeconds: 30 } });
    expect(report.probe).toBeUndefined();
    expect(report.steps.map((s) => s.kind)).toEqual(["left"]);

    const quiet = tracing(() => [], false, false);
    h.close();
    h = quiet.h;
    const again = await networkAndNamespace(h);
    const ep2 = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: again.nsName } }));
    const none = await h.service.trace({
      endpoint: "e1",
      destination: "192.0.2.9",
      protocol: "icmp",
      watch: true,
      timeoutSeconds: 5,
    });
    expect(quiet.probes).toMatchObject([{ mode: "watch", timeoutMs: 5000 }]);
    expect(none).toMatchObject({
      source: ep2.addresses.find((a) => !a.address.includes(":"))?.address,
      watched: { seen: false, timeoutSeconds: 5 },
      steps: [],
      events: [],
    });
  });

  it.each([
    [{ watch: true, source: "10.30.0.9" }, "source"],
    [{ timeoutSeconds: 5 }, "timeout"],
    [{ watch: true, timeoutSeconds: 0 }, "timeout"],
    [{ watch: true, timeoutSeconds: 3601 }, "timeout"],
    [{ watch: true, timeoutSeconds: 1.5 }, "timeout"],
  ] as const)("refuses the watch %j naming %s, and watches nothing", async (extra, field) => {
    const t = tracing(() => []);
    h = t.h;
    const { nsName } = await networkAndNamespace(h);
    await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const err = await rejection(
      h.service.trace({ endpoint: "e1", destination: "192.0.2.9", protocol: "icmp", ...extra }),
    );
    expect(err.code).toBe("InvalidArgument");
    expect(err.detail.field).toBe(field);
    expect(t.probes).toEqual([]);
  });

  it("refuses to watch an endpoint that is not attached: it sends nothing", async () => {
    const t = tracing(() => []);
    h = t.h;
    await h.service.createNetwork(netSpec("v4", subnet("10.31.0.0/24")));
    await h.service.createEndpoint(epSpec("loose", "v4"));
    const err = await rejection(
      h.service.trace({ endpoint: "loose", destination: "192.0.2.9", protocol: "icmp", watch: true }),
    );
    expect(err.code).toBe("Conflict");
    expect(err.message).toContain("not attached");
    expect(t.probes).toEqual([]);
  });

  it.each([
    [{ destination: "10.0.0.300", protocol: "icmp" }, "destination"],
    [{ destination: "10.0.0.0/24", protocol: "icmp" }, "destination"],
    [{ destination: "192.0.2.9", protocol: "tcp" }, "port"],
    [{ destination: "192.0.2.9", protocol: "udp", port: 0 }, "port"],
    [{ destination: "192.0.2.9", protocol: "icmp", port: 80 }, "port"],
    [{ destination: "192.0.2.9", protocol: "icmp", source: "fd30::9" }, "source"],
    [{ destination: "192.0.2.9", protocol: "icmp", source: "nope" }, "source"],
  ] as const)("refuses %j naming %s, and sends nothing", async (spec, field) => {
    const t = tracing(() => []);
    h = t.h;
    const { nsName } = await networkAndNamespace(h);
    await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const err = await rejection(h.service.trace({ endpoint: "e1", ...spec }));
    expect(err.code).toBe("InvalidArgument");
    expect(err.detail.field).toBe(field);
    expect(t.probes).toEqual([]);
  });

  it("refuses an endpoint it cannot send from: unknown, detached, or of one family only", async () => {
    const t = tracing(() => []);
    h = t.h;
    await h.service.createNetwork(netSpec("v4", subnet("10.31.0.0/24")));
    await h.service.createNamespace({ name: "c4" });
    await h.service.createEndpoint(epSpec("loose", "v4"));
    await h.service.createEndpoint(epSpec("only4", "v4", { attach: { namespace: "c4" } }));
    expect(
      (await rejection(h.service.trace({ endpoint: "gone", destination: "192.0.2.9", protocol: "icmp" })))
        .code,
    ).toBe("NotFound");
    expect(
      (await rejection(h.service.trace({ endpoint: "loose", destination: "192.0.2.9", protocol: "icmp" })))
        .code,
    ).toBe("Conflict");
    const v6 = await rejection(
      h.service.trace({ endpoint: "only4", destination: "2001:db8::9", protocol: "icmp" }),
    );
    expect(v6.detail.field).toBe("destination");
    expect(v6.message).toContain("no IPv6 address");
    expect(t.probes).toEqual([]);
  });

  it("tells the path in the store's words: endpoints, networks, port mappings, ACL rules", async () => {
    let hops: TraceHop[] = [];
    const t = tracing(() => hops, true);
    h = t.h;
    const { net, nsName } = await networkAndNamespace(h);
    const web = await h.service.createEndpoint(
      epSpec("web", "n1", { attach: { namespace: nsName }, portMappings: [mapping(0, 8080, 80)] }),
    );
    const acl = { Type: "ACL", Settings: { Action: "Block", Direction: "Out", Priority: 200 } };
    await h.service.modifyPolicies("web", { requestType: "Add", policies: parsePolicies([acl], "endpoint") });
    const owner = `ep:${web.id}` as const;
    hops = [
      { kind: "portMapping", owner },
      { kind: "translated", to: "10.30.0.2:80" },
      { kind: "acl", direction: "Out", verdict: "Block", owner, label: "acl 0" },
      { kind: "isolation", into: networkBridge(net) },
      { kind: "left", oif: "eth0" },
      { kind: "bridged", oif: endpointHostInterface(web) },
      { kind: "snat", oif: "eth0", to: "192.0.2.10", owner },
      { kind: "snat", oif: "eth0" },
    ];
    const report = await h.service.trace({
      endpoint: "web",
      destination: "192.0.2.1",
      protocol: "tcp",
      port: 8080,
    });
    expect(report.dropped).toBe(true);
    expect(report.steps.map((s) => s.description)).toEqual([
      'translated by the port mapping 8080->80/tcp of endpoint "web"',
      "to 10.30.0.2:80",
      'blocked by the ACL rule of endpoint "web": Out, priority 200, Block',
      'dropped by network isolation: NAT network "n1" is reached from other networks only through its port mappings and load balancers',
      "left through eth0, to the outside",
      `bridged to endpoint "web" (${endpointHostInterface(web)})`,
      'source address translated to 192.0.2.10 by the OutBoundNAT policy of endpoint "web" on eth0, to the outside',
      "source address translated on eth0, to the outside",
    ]);
  });
});
