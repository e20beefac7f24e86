/** What people see: tables aligned like `docker network ls`, and the plan as one line per operation. */
import { describe, expect, it } from "vitest";
import { endpointTable } from "../../../src/cli/endpoint.js";
import { namespaceTable } from "../../../src/cli/namespace.js";
import { networkTable } from "../../../src/cli/network.js";
import { table } from "../../../src/cli/output.js";
import { planText } from "../../../src/cli/plan.js";
import { listedPolicies, policyTable } from "../../../src/cli/policy.js";
import {
  adoptedNamespace,
  detachedEndpoint,
  dualNetwork,
  guardedEndpoint,
  natNetwork,
  web1Endpoint,
  web1Namespace,
} from "./samples.js";

describe("table", () => {
  it("pads every column to its widest cell, three spaces apart, without trailing spaces", () => {
    expect(
      table(
        ["ID", "NAME", "X"],
        [
          ["1", "a-long-name", ""],
          ["22", "b", "z"],
        ],
      ),
    ).toBe(["ID   NAME          X", "1    a-long-name", "22   b             z"].join("\n"));
  });

  it("prints the header alone for no rows", () => {
    expect(table(["ID", "NAME"], [])).toBe("ID   NAME");
  });
});

describe("networkTable", () => {
  it("shows short IDs and every subnet", () => {
    const docker = { ...dualNetwork, Name: "docker-0123456789ab", Origin: { Kind: "docker", Key: "0123" } };
    expect(networkTable([natNetwork, docker])).toBe(
      [
        "ID             NAME                  TYPE   SUBNETS                   BRIDGE         ORIGIN",
        "3f2a9c1e-7b6   nat                   NAT    172.17.0.0/16             hnb-3f2a9c1e   -",
        "8d7c6b5a-4f3   docker-0123456789ab   NAT    172.21.0.0/16,fd21::/64   hnb-8d7c6b5a   docker",
      ].join("\n"),
    );
  });
});

describe("namespaceTable", () => {
  it("says who owns each namespace and how many endpoints it holds", () => {
    expect(namespaceTable([web1Namespace, adoptedNamespace])).toBe(
      [
        "ID             NAME   PATH                OWNED   ENDPOINTS",
        "a1b2c3d4-e5f   web1   /run/netns/web1     yes     1",
        "f0e1d2c3-b4a   ctr    /proc/4242/ns/net   no      0",
      ].join("\n"),
    );
  });
});

describe("endpointTable", () => {
  it("names networks and namespaces, and marks what a detached endpoint lacks with -", () => {
    expect(endpointTable([web1Endpoint, detachedEndpoint], [natNetwork, dualNetwork], [web1Namespace])).toBe(
      [
        "ID             NAME    NETWORK      NAMESPACE   IFNAME   IPS                  MAC                 PORTS",
        "01234567-89a   web1    nat          web1        eth0     172.17.0.2           02:42:ac:11:00:02   8080->80/tcp,[::1]:5353->53/udp",
        "fedcba98-765   spare   dual-stack   -           -        172.21.0.2,fd21::2   02:42:ac:15:00:02   -",
      ].join("\n"),
    );
  });

  it("shows another host's endpoint as remote, at its host", () => {
    const remote = {
      ...detachedEndpoint,
      Name: "10.244.2.5@vxlan0",
      Flags: 1,
      IpConfigurations: [{ IpAddress: "10.244.2.5", PrefixLength: 24 }],
      Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: "192.168.77.2" } }],
    };
    const row = endpointTable([remote], [dualNetwork], []).split("\n")[1];
    expect(row).toMatch(/ {3}dual-stack {3}\(remote 192\.168\.77\.2\) {3}- +10\.244\.2\.5 /);
  });

  it("falls back to short IDs for networks and namespaces it cannot name", () => {
    const row = endpointTable([web1Endpoint], [], []).split("\n")[1];
    expect(row).toContain("   3f2a9c1e-7b6   a1b2c3d4-e5f   eth0   ");
  });
});

describe("policyTable", () => {
  it("numbers the policies from 1, names protocols and shows rates in the largest exact unit", () => {
    expect(policyTable(listedPolicies(guardedEndpoint))).toBe(
      [
        "INDEX   TYPE          DIRECTION   ACTION   PRIORITY   PROTOCOLS   LOCAL        REMOTE                            PORTS/RATE            PACKETS   BYTES",
        "1       ACL           In          Allow    100        tcp         any          10.0.0.0/8,fd00::/8               local 22,8000-8080    -         -",
        "2       ACL           Out         Block    10         udp         172.17.0.2   any                               remote 53             -         -",
        "3       QOS           Out,In      -        -          -           -            -                                 out 1MB/s in 1MiB/s   -         -",
        "4       SDNRoute      Out         -        -          -           -            198.51.100.0/24 via 172.17.0.50   -                     -         -",
        "5       OutBoundNAT   Out         -        -          -           masquerade   except 10.0.0.0/8                 -                     -         -",
      ].join("\n"),
    );
  });

  it("says any for an empty list, names the direction a QoS limits, and shows an unknown policy's type alone", () => {
    const acl = {
      Action: "Allow",
      Direction: "Out",
      Protocols: "",
      LocalAddresses: "",
      RemoteAddresses: "",
      LocalPorts: "",
      RemotePorts: "",
      Priority: 65500,
    };
    expect(
      policyTable([
        { Type: "ACL", Settings: acl },
        { Type: "ACL", Settings: { ...acl, Protocols: "58,132", LocalPorts: "80", RemotePorts: "1-1023" } },
        { Type: "QOS", Settings: { MaximumIncomingBandwidthInBytes: 1250 } },
        { Type: "OutBoundNAT", Settings: { VirtualIP: "192.0.2.10", Exceptions: [] } },
        { Type: "L4Proxy", Settings: null },
      ]),
    ).toBe(
      [
        "INDEX   TYPE          DIRECTION   ACTION   PRIORITY   PROTOCOLS    LOCAL        REMOTE   PORTS/RATE               PACKETS   BYTES",
        "1       ACL           Out         Allow    65500      any          any          any      any                      -         -",
        "2       ACL           Out         Allow    65500      icmpv6,132   any          any      local 80 remote 1-1023   -         -",
        "3       QOS           In          -        -          -            -            -        in 1.25KB/s              -         -",
        "4       OutBoundNAT   Out         -        -          -            192.0.2.10   any      -                        -         -",
        "5       L4Proxy       -           -        -          -            -            -        -                        -         -",
      ].join("\n"),
    );
  });

  it("shows what each ACL matched", () => {
    const [first] = listedPolicies(guardedEndpoint);
    if (first === undefined) throw new Error("no sample policy");
    const row = policyTable([{ ...first, Counters: { Packets: 7, Bytes: 420 } }]).split("\n")[1];
    expect(row?.trim().split(/\s+/).slice(-2)).toStrictEqual(["7", "420"]);
  });

  it("leaves out port mappings, which are --publish's, and prints the header alone for none", () => {
    expect(listedPolicies(web1Endpoint)).toStrictEqual([]);
    expect(policyTable([])).toBe(
      "INDEX   TYPE   DIRECTION   ACTION   PRIORITY   PROTOCOLS   LOCAL   REMOTE   PORTS/RATE   PACKETS   BYTES",
    );
  });
});

describe("planText", () => {
  it("prints one line per operation, marked like a diff", () => {
    expect(
      planText({
        Operations: [
          { Action: "delete", Kind: "veth", Object: "veth hnv-old master hnb-1 mtu 1500 (peer eth0)" },
          { Action: "create", Kind: "bridge", Object: "bridge hnb-1 mtu 1500" },
          { Action: "replace", Kind: "sysctl", Object: "sysctl net.ipv4.ip_forward = 1" },
        ],
      }),
    ).toBe(
      [
        "- delete  veth hnv-old master hnb-1 mtu 1500 (peer eth0)",
        "+ create  bridge hnb-1 mtu 1500",
        "~ replace sysctl net.ipv4.ip_forward = 1",
      ].join("\n"),
    );
  });

  it("says so when there is nothing to do", () => {
    expect(planText({ Operations: [] })).toBe("nothing to change: the kernel matches the store");
  });

  it("says why an operation is held back, under it", () => {
    const HeldBack = "repaired 5 times within 60 s; held back until 2030-01-01T00:00:00.000Z";
    expect(
      planText({
        Operations: [{ Action: "create", Kind: "bridge", Object: "bridge hnb-1 mtu 1500", HeldBack }],
      }),
    ).toBe(`+ create  bridge hnb-1 mtu 1500\n    held back: ${HeldBack}`);
  });

  it("says why the last attempt at an operation failed, under it", () => {
    const LastError = "bind EADDRINUSE 10.1.0.1:53";
    const Object = "resolver on 10.1.0.1:53 (net:1)";
    expect(planText({ Operations: [{ Action: "create", Kind: "dnsListener", Object, LastError }] })).toBe(
      `+ create  ${Object}\n    last error: ${LastError}`,
    );
  });
});
