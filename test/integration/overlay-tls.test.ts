/**
 * Overlay networks through an etcd that speaks TLS only and wants client certificates: hostnetd with the CA
 * and a client certificate shares networks and endpoints across hosts; one with the CA alone starts, but
 * etcd refuses it, so it cannot define an overlay network.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type TlsUnderlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { ping } from "../helpers/topology.js";

interface EndpointBody {
  IpConfigurations: { IpAddress: string }[];
}

const overlay = (name: string, subnet: string, vsid: number): Record<string, unknown> => ({
  Name: name,
  Type: "Overlay",
  Ipams: [{ Subnets: [{ IpAddressPrefix: subnet }] }],
  Policies: [{ Type: "VSID", Settings: { IsolationId: vsid } }],
});

describe.skipIf(needsRoot)("overlay networks through etcd with TLS and client certificates", () => {
  const cleanup = new Cleanup();
  let u: TlsUnderlay;
  /** On hosts 1 and 2, with a client certificate. */
  const d: TestDaemon[] = [];
  /** On host 3, with the CA but no client certificate. */
  let anonymous: TestDaemon;

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);

  beforeAll(async () => {
    u = await createUnderlay(3, { tls: true });
    cleanup.add(() => u.destroy());
    const [h1, h2, h3] = u.hosts;
    if (h1 === undefined || h2 === undefined || h3 === undefined) throw new Error("three hosts expected");
    const cluster = ["--etcd", u.etcdUrl, "--etcd-cacert", u.tls.ca];
    d.push(
      ...(await startHostDaemons(
        cleanup,
        [h1, h2],
        [...cluster, "--etcd-cert", u.tls.cert, "--etcd-key", u.tls.key],
      )),
    );
    const [withoutCertificate] = await startHostDaemons(cleanup, [h3], cluster);
    if (withoutCertificate === undefined) throw new Error("no hostnetd on host 3");
    anonymous = withoutCertificate;
  }, 60_000);
  afterAll(() => cleanup.run());

  it("serves etcd on https only", () => {
    expect(u.etcdUrl).toMatch(/^https:\/\//);
  });

  it("defines a network on host 1, and it exists on host 2", async () => {
    await daemonOn(0).ok("POST", "/networks", overlay("ov1", "10.60.0.0/16", 4200));
    expect(
      await within(5000, async () => (await daemonOn(1).api("GET", "/networks/ov1")).status === 200),
    ).toBeDefined();
  });

  it("lets containers on the two hosts reach each other", async () => {
    const address: string[] = [];
    for (const [host, name] of [
      [0, "c1"],
      [1, "c2"],
    ] as const) {
      const ns = `${u.prefix}${name}`;
      await daemonOn(host).ok("POST", "/namespaces", { Name: ns });
      const ep = await daemonOn(host).ok<EndpointBody>("POST", "/endpoints", {
        Name: name,
        HostComputeNetwork: "ov1",
        HostComputeNamespace: ns,
      });
      address.push(ep.IpConfigurations[0]?.IpAddress ?? "");
    }
    const [a1, a2] = address;
    expect(a1).not.toBe(a2);
    expect(await within(5000, () => ping(`${u.prefix}c1`, a2 ?? ""))).toBeDefined();
    expect(await within(5000, () => ping(`${u.prefix}c2`, a1 ?? ""))).toBeDefined();
  });

  it("answers 503 to an overlay network on a host without a client certificate, and changes nothing", async () => {
    const refused = await anonymous.api("POST", "/networks", overlay("ov2", "10.61.0.0/16", 4201));
    expect(refused.status).toBe(503);
    // etcd's refusal of the handshake, rather than an open circuit breaker's, so that the cause shows.
    expect(refused.body).toMatchObject({
      error: { message: expect.stringMatching(/certificate/) as unknown },
    });
    expect((await anonymous.api("GET", "/networks/ov2")).status).toBe(404);
    expect((await daemonOn(0).api("GET", "/networks/ov2")).status).toBe(404);
    // It is etcd that refuses it: host 1's network, known to etcd, never reached host 3.
    expect((await anonymous.api("GET", "/networks/ov1")).status).toBe(404);
  });
});
