import { beforeEach, describe, expect, it } from "vitest";
import type { EndpointSpec } from "../../../src/core/specs.js";
import type { ErrorCode } from "../../../src/errors.js";
import { limits } from "../../../src/model/limits.js";
import { rejection, storeSnapshot } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import {
  epSpec,
  expectEndpointRefused,
  lbSpec,
  mapping,
  netSpec,
  networkAndNamespace,
  subnet,
} from "./requests.js";

const h = freshHarnessPerTest();

describe("port mappings", () => {
  let nsName: string;
  beforeEach(async () => {
    ({ nsName } = await networkAndNamespace(h));
  });

  it("adds a map element per family for a port mapping", async () => {
    const ep = await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: nsName }, portMappings: [mapping(0, 8080, 80)] }),
    );
    expect(ep.portMappings).toEqual([{ protocol: "tcp", hostIp: null, hostPort: 8080, internalPort: 80 }]);
    expect(h.kernel.objects.get("nft:portmap4:tcp . 8080")).toMatchObject({ owner: `ep:${ep.id}` });
    expect(h.kernel.objects.get("nft:portmap6:tcp . 8080")).toMatchObject({ owner: `ep:${ep.id}` });
  });

  it("refuses more port mappings than one endpoint may have, through any door, naming the first beyond", async () => {
    const many = Array.from({ length: limits.portMappings + 1 }, (_, i) => mapping(i, 10_000 + i));
    const err = await rejection(h.service.createEndpoint(epSpec("e1", "n1", { portMappings: many })));
    expect(err.code).toBe("InvalidArgument");
    expect(err.detail.field).toBe(`Policies[${limits.portMappings}].Settings`);
    expect(h.service.endpoints()).toEqual([]);
  });

  describe("refuses invalid input, recording and applying nothing", () => {
    const cases: [string, (ns: string) => EndpointSpec, ErrorCode, string | undefined][] = [
      [
        "host port 0",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 0)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "host port 70000",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 70000)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "internal port 0",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 0)] }),
        "InvalidArgument",
        "Policies[0].Settings.InternalPort",
      ],
      [
        "internal port 65536",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 65536)] }),
        "InvalidArgument",
        "Policies[0].Settings.InternalPort",
      ],
      [
        "a fractional port",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 80.5)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "a malformed VIP",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 80, "1.2.3")] }),
        "InvalidArgument",
        "Policies[0].Settings.VIP",
      ],
      [
        "one host port twice in a request",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081), mapping(1, 8081, 81)] }),
        "Conflict",
        "Policies[1].Settings",
      ],
      [
        "one host port any-address and bound",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081), mapping(1, 8081, 81, "127.0.0.1")] }),
        "Conflict",
        "Policies[1].Settings",
      ],
      [
        "a host port another endpoint maps",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 9090)] }),
        "Conflict",
        "Policies[0].Settings",
      ],
      [
        "a bound host port another endpoint maps on every address",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 9090, 80, "10.1.1.1")] }),
        "Conflict",
        "Policies[0].Settings",
      ],
    ];

    it.each(cases)("%s", async (_what, spec, code, field) => {
      await expectEndpointRefused(h, nsName, spec(nsName), code, field);
    });
  });

  // Docker's `-p 0.0.0.0:8080:80` means every host address, not one no packet is sent to.
  it.each(["0.0.0.0", "::"])(
    "reads a mapping bound to the unspecified address %s as one on every address",
    async (vip) => {
      await h.service
        .createEndpoint(epSpec("e1", "n1", { portMappings: [mapping(0, 8080, 80, vip)] }))
        .catch(() => undefined);
      const bound = h.service.endpoints().flatMap((e) => e.portMappings.map((m) => m.hostIp));
      expect(bound).not.toContain(vip);
    },
  );

  it("refuses a VIP of a family the network lacks", async () => {
    await h.service.createNetwork(netSpec("v4", subnet("10.40.0.0/24")));
    const err = await rejection(
      h.service.createEndpoint(epSpec("e1", "v4", { portMappings: [mapping(0, 8080, 80, "fd00::1")] })),
    );
    expect([err.code, err.detail.field]).toEqual(["InvalidArgument", "Policies[0].Settings.VIP"]);
  });

  describe("of a port a NodePort load balancer has (tcp 80, no VIPs)", () => {
    beforeEach(async () => {
      await h.service.loadBalancers.create(lbSpec("np", [], []));
    });

    it.each([
      ["on every address", mapping(0, 80)],
      ["bound to one address", mapping(0, 80, 80, "10.1.1.1")],
      ["bound to an IPv6 address", mapping(0, 80, 80, "fd30::9")],
    ])("refuses one %s when the endpoint is made (409 naming the mapping)", async (_, m) => {
      const before = storeSnapshot(h);
      const applied = h.kernel.applied.length;
      const err = await rejection(h.service.createEndpoint(epSpec("e1", "n1", { portMappings: [m] })));
      expect([err.code, err.detail.field]).toEqual(["Conflict", "Policies[0].Settings"]);
      expect(err.message).toMatch(/is a NodePort of load balancer "np"/);
      expect(storeSnapshot(h)).toEqual(before);
      expect(h.kernel.applied).toHaveLength(applied);
    });

    it("refuses it when an endpoint's mappings are replaced (Docker's published ports), keeping the old ones", async () => {
      const ep = await h.service.createEndpoint(epSpec("e1", "n1", { portMappings: [mapping(0, 8080)] }));
      const err = await rejection(h.service.setPortMappings(ep.id, [mapping(0, 8081), mapping(1, 80)]));
      expect([err.code, err.detail.field]).toEqual(["Conflict", "Policies[1].Settings"]);
      expect(h.service.endpoint(ep.id).portMappings.map((m) => m.hostPort)).toEqual([8080]);
    });

    it("counts it as taken where a free host port is chosen, and frees it with the load balancer", async () => {
      expect(h.service.hostPortTaken("tcp", 80, undefined, "")).toBe(true);
      expect(h.service.hostPortTaken("tcp", 80, "10.1.1.1", "")).toBe(true);
      expect(h.service.hostPortTaken("udp", 80, undefined, "")).toBe(false);
      await h.service.loadBalancers.delete("np");
      expect(h.service.hostPortTaken("tcp", 80, undefined, "")).toBe(false);
      const ep = await h.service.createEndpoint(epSpec("e1", "n1", { portMappings: [mapping(0, 80)] }));
      expect(ep.portMappings.map((m) => m.hostPort)).toEqual([80]);
    });

    it("takes the port of another protocol", async () => {
      const udp = { ...mapping(0, 80), protocol: "udp" as const };
      const ep = await h.service.createEndpoint(epSpec("e1", "n1", { portMappings: [udp] }));
      expect(ep.portMappings).toEqual([{ protocol: "udp", hostIp: null, hostPort: 80, internalPort: 80 }]);
    });
  });
});
