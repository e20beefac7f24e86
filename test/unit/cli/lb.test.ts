import { describe, expect, it } from "vitest";
import type { Endpoint, LoadBalancer } from "../../../src/client/wire.js";
import { lbCreateRequest, lbTable, parseLbPort } from "../../../src/cli/lb.js";

describe("hostnet lb create", () => {
  it("builds the request from the flags, ILB on every port", () => {
    expect(
      lbCreateRequest("web", {
        vip: ["198.51.100.10", "2001:db8::10"],
        port: ["80:8080", "53:5353/udp"],
        backend: ["web1", "web2"],
        ilb: true,
        "source-vip": "203.0.113.5",
      }),
    ).toEqual({
      Name: "web",
      FrontendVIPs: ["198.51.100.10", "2001:db8::10"],
      PortMappings: [
        { Protocol: "TCP", ExternalPort: 80, InternalPort: 8080, Flags: 1 },
        { Protocol: "UDP", ExternalPort: 53, InternalPort: 5353, Flags: 1 },
      ],
      HostComputeEndpoints: ["web1", "web2"],
      SourceVIP: "203.0.113.5",
    });
  });

  it("refuses a missing VIP or port and a port that is not EXT:INT", () => {
    expect(() => lbCreateRequest("x", { port: ["80:80"] })).toThrow("--vip");
    expect(() => lbCreateRequest("x", { vip: ["198.51.100.1"] })).toThrow("--port");
    for (const bad of ["80", "80:0", "70000:80", "80:80/sctp", "a:b"])
      expect(() => parseLbPort(bad, false), bad).toThrow(`--port "${bad}"`);
  });
});

describe("hostnet lb ls", () => {
  it("shows VIPs, ports and backends by name", () => {
    const lb: LoadBalancer = {
      ID: "3f2a9c1e-7b6d-4e5f-8a9b-0c1d2e3f4a5b",
      Name: "web",
      HostComputeEndpoints: ["11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"],
      FrontendVIPs: ["198.51.100.10"],
      PortMappings: [{ Protocol: 6, ExternalPort: 80, InternalPort: 8080, Flags: 0 }],
      Flags: 0,
      CreatedAt: "2026-01-01T00:00:00.000Z",
    };
    const web1 = { ID: "11111111-0000-4000-8000-000000000001", Name: "web1" } as Endpoint;
    expect(lbTable([lb], [web1]).split("\n")).toEqual([
      "ID             NAME   VIPS            PORTS          BACKENDS            ILB",
      "3f2a9c1e-7b6   web    198.51.100.10   80->8080/tcp   web1,22222222-000   no",
    ]);
  });
});
