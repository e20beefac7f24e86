/** The page's model: what the graph and the list show for hostnetd's answers. */
import { describe, expect, it } from "vitest";
import type { LoadBalancerWire } from "../../../src/api/rest/load-balancers.js";
import type { EndpointStats, EndpointWire } from "../../../src/api/rest/wire.js";
import { hasTraffic, policyText, topology, trafficText } from "../../../src/ui/topology.js";
import {
  detachedEndpoint,
  dualNetwork,
  guardedEndpoint,
  natNetwork,
  overlayNetwork,
  web1Endpoint,
  web1Namespace,
} from "../cli/samples.js";

const remoteEndpoint: EndpointWire = {
  ...detachedEndpoint,
  ID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
  Name: "10.244.2.5@vxlan0",
  HostComputeNetwork: overlayNetwork.ID,
  HostInterfaceName: "",
  IpConfigurations: [{ IpAddress: "10.244.2.5", PrefixLength: 24 }],
  Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: "192.168.77.2" } }],
  Flags: 1,
};

const lb: LoadBalancerWire = {
  ID: "77777777-1111-4222-8333-444444444444",
  Name: "web",
  HostComputeEndpoints: [web1Endpoint.ID, remoteEndpoint.ID, "00000000-0000-4000-8000-000000000000"],
  FrontendVIPs: ["10.96.0.10"],
  PortMappings: [{ Protocol: 6, ExternalPort: 80, InternalPort: 8080 }],
  Flags: 0,
  CreatedAt: "2025-01-01T00:00:00.000Z",
};

const stats = (id: string): EndpointStats => ({
  EndpointId: id,
  InstanceId: "",
  BytesReceived: 1500,
  BytesSent: 300,
  PacketsReceived: 10,
  PacketsSent: 3,
  DroppedPacketsIncoming: 1,
  DroppedPacketsOutgoing: 0,
});

const objects = {
  networks: [natNetwork, dualNetwork, overlayNetwork],
  endpoints: [web1Endpoint, detachedEndpoint, remoteEndpoint],
  namespaces: [web1Namespace],
  loadBalancers: [lb],
};

describe("topology", () => {
  const counted = new Map([
    [web1Endpoint.ID, stats(web1Endpoint.ID)],
    [detachedEndpoint.ID, stats(detachedEndpoint.ID)],
  ]);
  const model = topology(objects, counted);
  const node = (id: string) => model.nodes.find((n) => n.id === id);

  it("draws each network, endpoint, namespace, load balancer and other host once, parents first", () => {
    expect(model.nodes.map((n) => `${n.kind} ${n.name}`)).toStrictEqual([
      "network nat",
      "network dual-stack",
      "network vxlan0",
      "host 192.168.77.2",
      "namespace web1",
      "loadbalancer web",
      "endpoint web1",
      "endpoint spare",
      "endpoint 10.244.2.5@vxlan0",
    ]);
    const seen = new Set<string>();
    for (const n of model.nodes) {
      if (n.parent !== undefined) expect(seen).toContain(n.parent);
      seen.add(n.id);
    }
  });

  it("puts local endpoints in their network and another host's in that host, inside the overlay network", () => {
    expect(node(`endpoint:${web1Endpoint.ID}`)?.parent).toBe(`network:${natNetwork.ID}`);
    expect(node(`endpoint:${detachedEndpoint.ID}`)?.parent).toBe(`network:${dualNetwork.ID}`);
    const host = `host:${overlayNetwork.ID}:192.168.77.2`;
    expect(node(`endpoint:${remoteEndpoint.ID}`)?.parent).toBe(host);
    expect(node(host)?.parent).toBe(`network:${overlayNetwork.ID}`);
  });

  it("joins endpoints to their namespaces and load balancers to their backends, never to an unknown object", () => {
    expect(model.edges).toStrictEqual([
      {
        id: `attached:${web1Endpoint.ID}`,
        kind: "attached",
        source: `endpoint:${web1Endpoint.ID}`,
        target: `namespace:${web1Namespace.ID}`,
      },
      {
        id: `backend:${lb.ID}:${web1Endpoint.ID}`,
        kind: "backend",
        source: `lb:${lb.ID}`,
        target: `endpoint:${web1Endpoint.ID}`,
      },
      {
        id: `backend:${lb.ID}:${remoteEndpoint.ID}`,
        kind: "backend",
        source: `lb:${lb.ID}`,
        target: `endpoint:${remoteEndpoint.ID}`,
      },
    ]);
  });

  it("shows the counters of endpoints with a veth only", () => {
    const web1 = node(`endpoint:${web1Endpoint.ID}`);
    expect(web1?.traffic).toStrictEqual(stats(web1Endpoint.ID));
    expect(web1?.label).toBe(`web1\n172.17.0.2\n${trafficText(stats(web1Endpoint.ID))}`);
    // A detached endpoint has no veth: hostnetd answers zeros, which are no traffic.
    expect(node(`endpoint:${detachedEndpoint.ID}`)?.traffic).toBeUndefined();
    expect(node(`endpoint:${detachedEndpoint.ID}`)?.details).toContain("detached");
    expect([web1Endpoint, detachedEndpoint, remoteEndpoint].map(hasTraffic)).toStrictEqual([
      true,
      false,
      false,
    ]);
  });

  it("names the policies, the load balancer's frontends and the network's subnets", () => {
    expect(node(`endpoint:${web1Endpoint.ID}`)?.details).toStrictEqual([
      "172.17.0.2",
      "veth hnv-01234567",
      "interface eth0",
      "MAC 02:42:ac:11:00:02",
      "publish 8080→80/tcp",
      "publish ::1:5353→53/udp",
    ]);
    expect(node(`lb:${lb.ID}`)?.label).toBe("web\n10.96.0.10 80→8080/tcp");
    expect(node(`lb:${lb.ID}`)?.details).toStrictEqual(["10.96.0.10", "80→8080/tcp", "3 backends"]);
    expect(node(`network:${dualNetwork.ID}`)?.label).toBe("dual-stack (NAT) 172.21.0.0/16 fd21::/64");
    expect(node(`network:${overlayNetwork.ID}`)?.details).toStrictEqual([
      "Overlay",
      "10.244.1.0/24",
      "bridge hnb-5e4d3c2b",
      "VSID",
      "VxlanPort",
      "RemoteSubnetRoute",
    ]);
    expect(guardedEndpoint.Policies.map(policyText)).toStrictEqual([
      "publish 8080→80/tcp",
      "ACL Allow In prio 100",
      "ACL Block Out prio 10",
      "QOS",
      "SDNRoute",
      "OutBoundNAT",
    ]);
  });

  it("draws an endpoint whose network is gone (a change between two answers) on its own", () => {
    const orphan = topology({ ...objects, networks: [] }, new Map());
    expect(orphan.nodes.find((n) => n.name === "web1" && n.kind === "endpoint")?.parent).toBeUndefined();
    expect(orphan.nodes.some((n) => n.kind === "host")).toBe(false);
  });
});
