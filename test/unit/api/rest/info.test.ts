/** GET /info: versions, kernel features, what hostnetd holds by type, etcd, socket and store. */
import { afterEach, beforeEach, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../../../src/api/http.js";
import { commit, version } from "../../../../src/build-info.js";
import { epSpec, netSpec, subnet } from "../../core/requests.js";
import { supportedFeatures } from "../../../../src/model/hns-features.js";
import { hnsVersion } from "../../../../src/model/hns-version.js";
import { harness, silent, type Harness } from "../../harness.js";

let h: Harness;
let app: FastifyInstance;
let connected = false;

const features = {
  bridge: "built-in",
  veth: "built-in",
  vlan: "missing",
  vlanFiltering: "missing",
  vxlan: "module",
  macvlan: "loaded",
  ifb: "built-in",
  nftables: "built-in",
  conntrack: "built-in",
  htb: "unknown",
} as const;

beforeEach(async () => {
  h = harness();
  app = await buildApp(h.service, silent, {
    socket: "/run/hostnet/hostnet.sock",
    store: "/var/lib/hostnet/hostnet.db",
    kernel: () => ({ release: "6.1.0-test", features }),
    etcd: { endpoints: ["https://etcd1:2379"], connected: () => connected },
  });
});
afterEach(async () => {
  await app.close();
  h.close();
});

it("answers the versions, the HNS release and features, the kernel's features and the paths, and counts by network type", async () => {
  await h.service.createNetwork(netSpec("web", subnet("10.9.0.0/24")));
  await h.service.createEndpoint(epSpec("e1", "web"));
  await h.service.createEndpoint(epSpec("e2", "web"));
  const res = await app.inject({ method: "GET", url: "/info" });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toStrictEqual({
    Version: version,
    Commit: commit,
    Hns: { Version: hnsVersion(), Features: supportedFeatures() },
    Kernel: { Release: "6.1.0-test", Features: features },
    Networks: { NAT: 1 },
    Endpoints: { NAT: 2 },
    Etcd: { State: "unreachable", Endpoints: ["https://etcd1:2379"] },
    Socket: "/run/hostnet/hostnet.sock",
    Store: "/var/lib/hostnet/hostnet.db",
  });
  connected = true;
  expect((await app.inject({ method: "GET", url: "/info" })).json()).toMatchObject({
    Etcd: { State: "connected" },
  });
});
