/**
 * Docker's remote network driver over hostnet's service. Docker's networks and endpoints become hostnet
 * networks and endpoints named `docker-<first 12 of Docker's id>` and found again by Docker's full id
 * (their origin), so they are rebuilt from hostnet's store after a restart, which Docker never replays.
 *
 * hostnet owns the host side (bridge, veth, NAT, policies); after Join, Docker moves the container end
 * of the veth into its sandbox and gives it the addresses and MAC agreed in CreateEndpoint.
 */
import type { HostnetService } from "../../core/service.js";
import { endpointHandoffInterface } from "../../core/kernel-names.js";
import { notFound } from "../../errors.js";
import type { Endpoint, Network, Origin, Protocol } from "../../model/types.js";
import { modes } from "../../modes/index.js";
import { effectivePolicies } from "../../policies/objects.js";
import type { SdnRoutePolicy } from "../../policies/sdn-route.js";
import {
  addressOf,
  choosePorts,
  dockerNetwork,
  endpointDns,
  endpointPolicies,
  portBindings,
  PORT_MAP,
  requestedMac,
  type IpamData,
  type Options,
} from "./options.js";

const origin = (key: string): Origin => ({ kind: "docker", key });
const hostnetName = (dockerId: string): string => `docker-${dockerId.slice(0, 12)}`;

export interface CreateNetworkRequest {
  readonly NetworkID: string;
  readonly Options?: Options;
  readonly IPv4Data?: readonly IpamData[] | null;
  readonly IPv6Data?: readonly IpamData[] | null;
}

export interface EndpointInterface {
  readonly Address?: string | null;
  readonly AddressIPv6?: string | null;
  readonly MacAddress?: string | null;
}

export interface CreateEndpointRequest {
  readonly NetworkID: string;
  readonly EndpointID: string;
  readonly Interface?: EndpointInterface | null;
  readonly Options?: Options;
}

export interface JoinResponse {
  readonly InterfaceName: { readonly SrcName: string; readonly DstPrefix: string };
  readonly Gateway?: string;
  readonly GatewayIPv6?: string;
  readonly StaticRoutes: readonly { Destination: string; RouteType: number; NextHop: string }[];
  readonly DisableGatewayService?: boolean;
}

/** StaticRoutes RouteType: through a next hop. */
const NEXT_HOP = 0;

export class DockerNetworkDriver {
  constructor(private readonly service: HostnetService) {}

  /** Creating what already exists succeeds: Docker retries a call whose answer it did not get. */
  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    if (this.service.networkByOrigin(origin(req.NetworkID)) !== undefined) return;
    const wanted = dockerNetwork(req.Options, req.IPv4Data, req.IPv6Data);
    await this.service.createNetwork({
      name: hostnetName(req.NetworkID),
      ...wanted,
      origin: origin(req.NetworkID),
    });
  }

  /** Deleting what is gone succeeds, for the same reason. */
  async deleteNetwork(networkId: string): Promise<void> {
    const net = this.service.networkByOrigin(origin(networkId));
    if (net !== undefined) await this.service.deleteNetwork(net.id);
  }

  /** Answers the MAC when Docker chose none; the addresses are Docker's and are never answered back. */
  async createEndpoint(req: CreateEndpointRequest): Promise<{ Interface: EndpointInterface }> {
    const known = this.service.endpointByOrigin(origin(req.EndpointID));
    const mac = requestedMac(req.Interface?.MacAddress, req.Options);
    const answer = (ep: Endpoint): { Interface: EndpointInterface } => ({
      Interface: mac === undefined ? { MacAddress: ep.mac } : {},
    });
    if (known !== undefined) return answer(known);
    const net = this.network(req.NetworkID);
    const given = {
      "Interface.Address": req.Interface?.Address,
      "Interface.AddressIPv6": req.Interface?.AddressIPv6,
    };
    const ips = Object.entries(given).flatMap(([field, cidr]) =>
      cidr === undefined || cidr === null || cidr === "" ? [] : [{ field, address: addressOf(field, cidr) }],
    );
    const dns = endpointDns(req.Options);
    const ep = await this.service.createEndpoint({
      name: hostnetName(req.EndpointID),
      network: net.id,
      ips,
      ...(mac === undefined ? {} : { mac }),
      portMappings: [],
      policies: endpointPolicies(req.Options),
      origin: origin(req.EndpointID),
      ...(dns === undefined ? {} : { dns }),
    });
    return answer(ep);
  }

  async deleteEndpoint(endpointId: string): Promise<void> {
    const ep = this.service.endpointByOrigin(origin(endpointId));
    if (ep !== undefined) await this.service.deleteEndpoint(ep.id);
  }

  endpointInfo(endpointId: string): Record<string, unknown> {
    const ep = this.endpoint(endpointId);
    return {
      "hostnet.endpoint": ep.id,
      "hostnet.name": ep.name,
      "hostnet.mac": ep.mac,
      [PORT_MAP]: ep.portMappings.map((m) => ({
        Proto: m.protocol === "tcp" ? 6 : 17,
        HostIP: m.hostIp ?? "",
        HostPort: m.hostPort,
        Port: m.internalPort,
      })),
    };
  }

  /**
   * Makes the veth and leaves its container end for Docker to move into the sandbox; the gateway keeps
   * Docker from adding docker_gwbridge, and SDNRoute policies become routes Docker installs.
   */
  async join(endpointId: string, sandboxKey: string): Promise<JoinResponse> {
    const ep = await this.service.handOffEndpoint(this.endpoint(endpointId).id, sandboxKey);
    const net = this.service.network(ep.networkId);
    const name = { SrcName: endpointHandoffInterface(ep), DstPrefix: "eth" };
    // Without a way out, Docker must not add docker_gwbridge for one either.
    if (!modes[net.type].defaultRoute)
      return { InterfaceName: name, StaticRoutes: staticRoutes(ep, net), DisableGatewayService: true };
    const gateway = (family: 4 | 6): string | undefined =>
      ep.addresses.some((a) => a.family === family)
        ? net.subnets.find((s) => s.family === family)?.gateway
        : undefined;
    const v4 = gateway(4);
    const v6 = gateway(6);
    return {
      InterfaceName: name,
      ...(v4 === undefined ? {} : { Gateway: v4 }),
      ...(v6 === undefined ? {} : { GatewayIPv6: v6 }),
      StaticRoutes: staticRoutes(ep, net),
    };
  }

  async leave(endpointId: string): Promise<void> {
    await this.service.detachEndpoint(this.endpoint(endpointId).id);
  }

  /** Publishes the container's ports (`docker run -p`), choosing free host ports where Docker left it to us. */
  async programExternalConnectivity(endpointId: string, options: Options): Promise<void> {
    const ep = this.endpoint(endpointId);
    const taken = (protocol: Protocol, port: number, hostIp: string | undefined): boolean =>
      this.service.hostPortTaken(protocol, port, hostIp, ep.id);
    await this.service.setPortMappings(ep.id, choosePorts(portBindings(options), taken));
  }

  async revokeExternalConnectivity(endpointId: string): Promise<void> {
    const ep = this.service.endpointByOrigin(origin(endpointId));
    if (ep !== undefined && ep.portMappings.length > 0) await this.service.setPortMappings(ep.id, []);
  }

  private network(dockerId: string): Network {
    const net = this.service.networkByOrigin(origin(dockerId));
    if (net === undefined) throw notFound("Docker network", dockerId);
    return net;
  }

  private endpoint(dockerId: string): Endpoint {
    const ep = this.service.endpointByOrigin(origin(dockerId));
    if (ep === undefined) throw notFound("Docker endpoint", dockerId);
    return ep;
  }
}

function staticRoutes(ep: Endpoint, net: Network): JoinResponse["StaticRoutes"] {
  return effectivePolicies(ep.policies, net.policies)
    .filter((p): p is SdnRoutePolicy => p.type === "SDNRoute")
    .map((r) => ({ Destination: r.destinationPrefix, RouteType: NEXT_HOP, NextHop: r.nextHop }));
}
