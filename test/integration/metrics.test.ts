import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { ping } from "../helpers/topology.js";
import { inNs, must, run } from "../helpers/run.js";
import { askTcp, askTcpMany, startEchoServers } from "../helpers/traffic.js";

const HOSTNET = resolve(import.meta.dirname, "../../dist/bin/hostnet.js");
const HOSTNETD = resolve(import.meta.dirname, "../../dist/bin/hostnetd.js");
const METRICS_PORT = 19471;
const LB_VIP = "198.51.100.40";
const STICKY_VIP = "198.51.100.41";
const LB_CONNECTIONS = 60;

interface Stats {
  EndpointId: string;
  BytesReceived: number;
  PacketsReceived: number;
  BytesSent: number;
  PacketsSent: number;
  DroppedPacketsIncoming: number;
  DroppedPacketsOutgoing: number;
}

/** The value of the one sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe.skipIf(needsRoot)("metrics and endpoint statistics", () => {
  const lab = useLab({ daemonArgs: ["--no-default-network", "--metrics-listen", String(METRICS_PORT)] });

  const scrapeSocket = (): Promise<string> =>
    must(["curl", "-sf", "--unix-socket", lab.d.socket, "http://hostnetd/metrics"]);
  const scrapeTcp = (): Promise<string> =>
    must(inNs(lab.t.host, ["curl", "-sf", `http://127.0.0.1:${METRICS_PORT}/metrics`]));

  it("counts an endpoint's traffic and its ACL's drops, in the API, the CLI and the metrics", async () => {
    const { t, d } = lab;
    await lab.network("m1", ["10.47.0.0/24"]);
    const ep = await lab.container("c1", "m1", {
      Policies: [
        {
          Type: "ACL",
          Settings: { Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "81", Priority: 100 },
        },
        { Type: "ACL", Settings: { Action: "Allow", Direction: "In", Priority: 200 } },
        { Type: "ACL", Settings: { Action: "Allow", Direction: "Out", Priority: 200 } },
      ],
    });
    const c1 = ep.IpConfigurations[0]?.IpAddress ?? "";
    const before = await d.ok<Stats>("GET", "/endpoints/c1/stats");
    expect(before.EndpointId).toBe(ep.ID);

    const echo = await startEchoServers(t.ns("c1"), 80);
    try {
      for (let i = 0; i < 5; i++) expect(await ping(t.host, c1)).toBe(true);
      expect(await askTcp(t.host, c1, 80)).toBeDefined();
      for (let i = 0; i < 3; i++) expect(await askTcp(t.host, c1, 81)).toBeUndefined();
    } finally {
      await echo.stop();
    }

    const after = await d.ok<Stats>("GET", "/endpoints/c1/stats");
    expect(after.PacketsReceived - before.PacketsReceived).toBeGreaterThanOrEqual(5 + 3);
    expect(after.PacketsSent - before.PacketsSent).toBeGreaterThanOrEqual(5 + 3);
    expect(after.BytesReceived).toBeGreaterThan(before.BytesReceived);
    // Each refused connection is a SYN and its retries, all blocked on the way in.
    expect(after.DroppedPacketsIncoming - before.DroppedPacketsIncoming).toBeGreaterThanOrEqual(3);
    expect(await d.ok<Stats>("GET", `/endpointstats/${ep.ID}`)).toMatchObject({ EndpointId: ep.ID });

    const cli = await must(
      inNs(t.host, [process.execPath, HOSTNET, "--socket", d.socket, "endpoint", "stats", "c1"]),
    );
    expect(cli).toMatch(/RX BYTES.*DROPPED OUT/);
    const watched = await must(
      inNs(t.host, [
        process.execPath,
        HOSTNET,
        "--socket",
        d.socket,
        "endpoint",
        "stats",
        "c1",
        "--watch",
        "--interval",
        "0.2",
        "--count",
        "2",
        "-o",
        "json",
      ]),
    );
    expect(watched.match(/"EndpointId"/g)).toHaveLength(2);

    // A stream that ends at once: the event stream is counted like any other request.
    expect((await d.api("GET", `/events?until=${new Date().toISOString()}`)).status).toBe(200);
    for (const text of [await scrapeSocket(), await scrapeTcp()]) {
      const labels = { endpoint: "c1", network: "m1" };
      expect(sample(text, "hostnet_endpoint_received_packets_total", labels)).toBeGreaterThanOrEqual(
        after.PacketsReceived,
      );
      expect(sample(text, "hostnet_endpoint_sent_bytes_total", labels)).toBeGreaterThanOrEqual(
        after.BytesSent,
      );
      expect(
        sample(text, "hostnet_endpoint_dropped_packets_total", { ...labels, direction: "in", reason: "acl" }),
      ).toBeGreaterThanOrEqual(3);
      expect(
        sample(text, "hostnet_acl_rule_packets_total", {
          ...labels,
          rule: "0",
          action: "Block",
          direction: "In",
        }),
      ).toBeGreaterThanOrEqual(3);
      expect(sample(text, "hostnet_objects", { kind: "endpoint", state: "attached" })).toBe(1);
      expect(sample(text, "hostnet_objects", { kind: "network", state: "NAT" })).toBe(1);
      expect(sample(text, "hostnet_converges_total", { kind: "converge", result: "ok" })).toBeGreaterThan(0);
      expect(sample(text, "hostnet_kernel_commands_total", { tool: "nft", result: "ok" })).toBeGreaterThan(0);
      expect(sample(text, "hostnet_kernel_operations_total", { action: "create", object: "veth" })).toBe(1);
      expect(
        sample(text, "hostnet_api_requests_total", {
          route: "/endpoints/:ref/stats",
          method: "GET",
          status: "200",
        }),
      ).toBeGreaterThanOrEqual(2);
      expect(
        sample(text, "hostnet_api_request_duration_seconds_count", { route: "/networks", method: "POST" }),
      ).toBe(1);
      expect(
        sample(text, "hostnet_api_requests_total", { route: "/events", method: "GET", status: "200" }),
      ).toBe(1);
      expect(sample(text, "hostnetd_process_resident_memory_bytes", {})).toBeGreaterThan(0);
    }
  });

  it("counts each load balancer backend's new connections, across a converge and scrapes beside it", async () => {
    const { t, d } = lab;
    await lab.network("lbnet", ["10.48.0.0/24"]);
    const backends = ["b1", "b2", "b3"] as const;
    for (const name of backends) {
      await lab.container(name, "lbnet");
      const server = spawn(
        "nsenter",
        [`--net=/run/netns/${t.ns(name)}`, "socat", "TCP4-LISTEN:8080,fork,reuseaddr", `SYSTEM:echo ${name}`],
        { stdio: "ignore" },
      );
      lab.cleanup.add(async () => {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await exited;
      });
    }
    await must(["ip", "-n", t.ext, "route", "add", "198.51.100.0/24", "via", t.hostIp4]);
    const web = await d.ok<{ ID: string }>("POST", "/loadbalancers", {
      Name: "web",
      HostComputeEndpoints: ["b1", "b2"],
      FrontendVIPs: [LB_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    await new Promise((r) => setTimeout(r, 300));
    const connections = (text: string, backend: string, lb = "web"): number | undefined =>
      sample(text, "hostnet_lb_backend_connections_total", { name: lb, backend });

    const zero = await scrapeSocket();
    expect(connections(zero, "b1")).toBe(0);
    expect(connections(zero, "b2")).toBe(0);
    const answers = await askTcpMany(t.ext, LB_VIP, 80, LB_CONNECTIONS);
    expect(answers).toHaveLength(LB_CONNECTIONS);
    const got = {
      b1: answers.filter((a) => a === "b1").length,
      b2: answers.filter((a) => a === "b2").length,
    };
    expect(got.b1 + got.b2).toBe(LB_CONNECTIONS);
    expect(got.b1).toBeGreaterThan(0);
    expect(got.b2).toBeGreaterThan(0);
    const counted = await scrapeTcp();
    expect(connections(counted, "b1")).toBe(got.b1);
    expect(connections(counted, "b2")).toBe(got.b2);
    expect(
      sample(counted, "hostnet_lb_backend_connections_total", { loadbalancer: web.ID, backend: "b1" }),
    ).toBe(got.b1);

    // Scrapes while a converge adds a backend (which rewrites the frontend's draw) keep every count: the
    // elements of the backends that stay are not touched.
    const scraped: string[] = [];
    const beside = { scraping: true };
    const scraper = (async () => {
      while (beside.scraping) scraped.push(await scrapeSocket());
    })();
    try {
      await d.ok("POST", "/loadbalancers/web/endpoints", {
        RequestType: "Add",
        HostComputeEndpoints: ["b3"],
      });
      await lab.container("other", "lbnet");
    } finally {
      beside.scraping = false;
      await scraper;
    }
    expect(scraped.length).toBeGreaterThan(0);
    for (const text of scraped) {
      expect(connections(text, "b1")).toBe(got.b1);
      expect(connections(text, "b2")).toBe(got.b2);
    }
    const more = await askTcpMany(t.ext, LB_VIP, 80, LB_CONNECTIONS);
    expect(more).toHaveLength(LB_CONNECTIONS);
    const after = await scrapeSocket();
    for (const b of backends)
      expect(connections(after, b), b).toBe((b === "b3" ? 0 : got[b]) + more.filter((a) => a === b).length);

    // With source-IP affinity each backend counts in its own chain: the client keeps one backend.
    await d.ok("POST", "/loadbalancers", {
      Name: "sticky",
      HostComputeEndpoints: ["b1", "b2"],
      FrontendVIPs: [STICKY_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }],
    });
    await new Promise((r) => setTimeout(r, 300));
    const sticky = await askTcpMany(t.ext, STICKY_VIP, 80, 10);
    expect(sticky).toHaveLength(10);
    const pinned = sticky[0] ?? "";
    expect(new Set(sticky)).toEqual(new Set([pinned]));
    const affine = await scrapeSocket();
    expect(connections(affine, pinned, "sticky")).toBe(10);
    expect(connections(affine, pinned === "b1" ? "b2" : "b1", "sticky")).toBe(0);
    expect(connections(affine, "b1") ?? 0).toBeGreaterThanOrEqual(got.b1);
    expect(await lab.plan()).toEqual([]);
  });

  it("counts drift it repairs", async () => {
    const { t } = lab;
    await must(inNs(t.host, ["nft", "delete", "table", "inet", "hostnet"]));
    await expect
      .poll(
        async () => sample(await scrapeSocket(), "hostnet_drift_repaired_total", { object: "nftTable" }),
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    expect(await lab.plan()).toEqual([]);
  });

  it("refuses a metrics address that is not one", async () => {
    const r = await run([process.execPath, HOSTNETD, "--check-config", "--metrics-listen", "localhost:80"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--metrics-listen");
  });
});
