/**
 * `hostnet ui` in a real browser: Debian's chromium, driven by playwright-core, opens the page of a real
 * hostnetd and finds the test's objects in the page's list and in the graph (a NAT network with two
 * containers, one with an ACL, a load balancer over both, a routed overlay network with another host's
 * endpoint), sees a ping's packets in the counters, sees an endpoint appear and go as it is created and
 * deleted, follows hostnetd across its restart, and cannot write through the page's server. The page's screenshot is kept in
 * test-artifacts/ui.png.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { chromiumPath } from "../helpers/chromium.js";
import { useLab } from "../helpers/lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { ping } from "../helpers/topology.js";

const root = resolve(import.meta.dirname, "../..");
const HOSTNET = resolve(root, "dist/bin/hostnet.js");
const ARTIFACTS = resolve(root, "test-artifacts");
/** What the page may take to show a change: the event, a read of the objects, a layout, or a counters round. */
const SHOWN_MS = 15_000;
const VSID = 4096;
/** Another host of the routed overlay: the test's external namespace, which needs to answer nothing. */
const OTHER_HOST = "192.0.2.2";

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
}

/** `hostnet ui --listen 127.0.0.1:0` against `socket`, once it has printed its URL. */
function startUi(socket: string): Promise<Started> {
  const child = spawn(process.execPath, [HOSTNET, "--socket", socket, "ui", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`hostnet ui printed no URL in 30 s: ${output}`)), 30_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /http:\/\/\S+\//.exec(output)?.[0];
      if (url === undefined) return;
      clearTimeout(timer);
      resolvePromise({ child, url, output: () => output });
    };
    child.stdout.on("data", read);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hostnet ui exited ${String(code)}: ${output}`));
    });
  });
}

/** Stops the process by its PID and waits for it. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

const item = (kind: string, name: string): string => `#objects li[data-kind="${kind}"][data-name="${name}"]`;

describe.skipIf(needsRoot || chromiumPath === undefined)("hostnet ui in a real browser", () => {
  const lab = useLab({ daemonArgs: ["--no-default-network", "--host-address", "192.0.2.1"] });
  let ui: Started;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};
  /** The page's uncaught errors and what its Content-Security-Policy blocked. */
  const faults: string[] = [];

  beforeAll(async () => {
    const { d } = lab;
    await lab.network("web", ["10.91.0.0/24"]);
    for (const name of ["c1", "c2"]) ids[name] = (await lab.container(name, "web")).ID;
    await d.ok("POST", "/endpoints/c1/policies", {
      RequestType: "Add",
      Policies: [
        { Type: "ACL", Settings: { Action: "Block", Direction: "In", Protocols: "17", Priority: 200 } },
      ],
    });
    await d.ok("POST", "/loadbalancers", {
      Name: "front",
      FrontendVIPs: ["198.51.100.30"],
      PortMappings: [{ Protocol: 6, ExternalPort: 80, InternalPort: 8080 }],
      HostComputeEndpoints: [ids["c1"], ids["c2"]],
    });
    await d.ok("POST", "/networks", {
      Name: "vxlan0",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.244.1.0/24" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: VSID } }],
    });
    await d.ok("POST", "/networks/vxlan0/policies", {
      RequestType: "Add",
      Policies: [
        {
          Type: "RemoteSubnetRoute",
          Settings: {
            DestinationPrefix: "10.244.2.0/24",
            IsolationId: VSID,
            ProviderAddress: OTHER_HOST,
            DistributedRouterMacAddress: "0a:68:c0:00:02:02",
          },
        },
      ],
    });
    await d.ok("POST", "/endpoints", {
      HostComputeNetwork: "vxlan0",
      Flags: 1,
      IpConfigurations: [{ IpAddress: "10.244.2.5" }],
      Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: OTHER_HOST } }],
    });

    ui = await startUi(d.socket);
    lab.cleanup.add(() => stop(ui.child));
    browser = await chromium.launch({ executablePath: chromiumPath ?? "", headless: true });
    lab.cleanup.add(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (err) => faults.push(`uncaught: ${err.message}`));
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) faults.push(m.text());
    });
    // Kept whatever the tests found, to look at: taken before the browser closes.
    lab.cleanup.add(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: resolve(ARTIFACTS, "ui.png"), fullPage: true });
    });
    await page.goto(ui.url);
    await page.locator('#status[data-state="live"]').waitFor({ timeout: SHOWN_MS });
  }, 120_000);

  it("prints where it serves the page: loopback, the port the kernel picked", () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(ui.url).not.toContain(":0/");
  });

  it("shows every network, endpoint, namespace, load balancer and other host, in the list and the graph", async () => {
    for (const [kind, name] of [
      ["network", "web"],
      ["network", "vxlan0"],
      ["endpoint", "c1"],
      ["endpoint", "c2"],
      ["namespace", lab.t.ns("c1")],
      ["namespace", lab.t.ns("c2")],
      ["loadbalancer", "front"],
      ["host", OTHER_HOST],
      ["endpoint", "10.244.2.5@vxlan0"],
    ] as const)
      await page.locator(item(kind, name)).waitFor({ state: "attached", timeout: SHOWN_MS });

    const c1 = page.locator(item("endpoint", "c1"));
    expect(await c1.getAttribute("data-parent")).toMatch(/^network:/);
    expect(await c1.locator(".details").textContent()).toContain("ACL Block In prio 200");
    const remote = page.locator(item("endpoint", "10.244.2.5@vxlan0"));
    expect(await remote.getAttribute("data-parent")).toMatch(new RegExp(`^host:.*:${OTHER_HOST}$`));
    expect(await page.locator(item("loadbalancer", "front")).textContent()).toContain("2 backends");

    // The graph holds what the list shows: 2 networks, 1 host, 2 namespaces, 1 load balancer, 3 endpoints;
    // edges: 2 attachments, 2 backends.
    const graph = page.locator("#graph");
    expect(await page.locator("#objects li").count()).toBe(9);
    expect(await graph.getAttribute("data-nodes")).toBe("9");
    expect(await graph.getAttribute("data-edges")).toBe("4");
    expect(await graph.locator("canvas").count()).toBeGreaterThan(0);
  });

  it("counts the packets an endpoint sends and receives", async () => {
    const c2 = (await lab.d.ok<{ IpConfigurations: { IpAddress: string }[] }>("GET", "/endpoints/c2"))
      .IpConfigurations[0]?.IpAddress;
    for (let i = 0; i < 3; i++) expect(await ping(lab.t.ns("c1"), c2 ?? "")).toBe(true);
    /** One counter of the page's list, as its data attribute says; 0 until the endpoint is counted. */
    const counter = async (name: string, which: string): Promise<number> =>
      Number(
        await page
          .locator(`${item("endpoint", name)} .traffic`)
          .getAttribute(`data-${which}`, { timeout: 1000 })
          .catch(() => "0"),
      );
    const counted = await within(SHOWN_MS, async () => {
      const [sent, received, bytes] = await Promise.all([
        counter("c1", "packets-sent"),
        counter("c2", "packets-received"),
        counter("c1", "bytes-sent"),
      ]);
      return sent >= 3 && received >= 3 && bytes > 0;
    });
    expect(counted, "the page showed c1 sending and c2 receiving 3 pings").toBeDefined();
    expect(await page.locator(`${item("endpoint", "c1")} .traffic`).textContent()).toMatch(
      /out \S+ \d+ pkts/,
    );
  });

  it("shows an endpoint as it is created, and no more once it is deleted", async () => {
    const graph = page.locator("#graph");
    await lab.d.ok("POST", "/endpoints", { Name: "c3", HostComputeNetwork: "web" });
    await page.locator(item("endpoint", "c3")).waitFor({ state: "attached", timeout: SHOWN_MS });
    expect(await graph.getAttribute("data-nodes")).toBe("10");
    expect(await page.locator(`${item("endpoint", "c3")} .details`).textContent()).toContain("detached");
    await page.locator("#events li", { hasText: "endpoint create c3" }).waitFor({ timeout: SHOWN_MS });

    await lab.d.api("DELETE", "/endpoints/c3");
    await page.locator(item("endpoint", "c3")).waitFor({ state: "detached", timeout: SHOWN_MS });
    expect(await graph.getAttribute("data-nodes")).toBe("9");
    await page.locator("#events li", { hasText: "endpoint delete c3" }).waitFor({ timeout: SHOWN_MS });
  });

  it("follows hostnetd again after it restarts", async () => {
    await lab.d.kill("SIGTERM");
    await lab.d.restart();
    // The page's stream ended with the old hostnetd: c4 shows only if it followed the new one.
    await lab.d.ok("POST", "/endpoints", { Name: "c4", HostComputeNetwork: "web" });
    await page.locator(item("endpoint", "c4")).waitFor({ state: "attached", timeout: SHOWN_MS });
    await page.locator('#status[data-state="live"]').waitFor({ timeout: SHOWN_MS });
    await lab.d.api("DELETE", "/endpoints/c4");
    await page.locator(item("endpoint", "c4")).waitFor({ state: "detached", timeout: SHOWN_MS });
  });

  it("cannot change anything through the page's server", async () => {
    const statuses = await page.evaluate(async () =>
      Promise.all(
        [
          ["POST", "/api/endpoints"],
          ["DELETE", "/api/endpoints/c1"],
          ["GET", "/api/plan"],
        ].map(async ([method, path]) => (await fetch(path ?? "", { method: method ?? "GET" })).status),
      ),
    );
    expect(statuses).toStrictEqual([405, 405, 404]);
    expect((await lab.d.ok<unknown[]>("GET", "/endpoints")).length).toBe(3);
  });

  it("threw nothing and needed nothing its Content-Security-Policy blocks", () => {
    expect(faults).toStrictEqual([]);
  });
});
