/**
 * The CNI plugin's logic, run inside hostnetd: the `hostnet-cni` executable only relays its environment
 * and stdin here and prints what comes back. Each container interface becomes one hostnet endpoint, found
 * again by its origin key `<container id>/<ifname>`; the container's netns is adopted as a namespace.
 */
import { randomUUID } from "node:crypto";
import type { HostnetService } from "../../core/service.js";
import { endpointHostInterface } from "../../core/kernel-names.js";
import { nameserversOf } from "../../dns/resolv-conf.js";
import { domainName, effectiveDns } from "../../dns/settings.js";
import { HostnetError } from "../../errors.js";
import type { EndpointPolicy } from "../../policies/index.js";
import type { FieldValue } from "../../policies/kind.js";
import type { Endpoint, Namespace, Network } from "../../model/types.js";
import {
  checkVersion,
  decode,
  parseEnv,
  parseNetConf,
  versionOf,
  type CniEnv,
  type NetConf,
} from "./config.js";
import { CniCode, CniError, toCniError } from "./errors.js";
import { mergeResults, writeResult, type Dns, type Result } from "./result.js";
import { isSupported, latestVersion, supportedVersions } from "./versions.js";

export interface CniReply {
  readonly exitCode: number;
  readonly stdout: string;
}

/** Namespaces the plugin adopts are named so; only those it forgets again when their last endpoint goes. */
const NAMESPACE_PREFIX = "cni-";
const INVALID_NAME_CHARS = /[^A-Za-z0-9_.-]/g;

const originOf = (env: CniEnv): { kind: "cni"; key: string } => ({
  kind: "cni",
  key: `${env.containerId}/${env.ifname}`,
});

export class CniHandler {
  constructor(private readonly service: HostnetService) {}

  async handle(env: Readonly<Record<string, string>>, stdin: string): Promise<CniReply> {
    let version = versionOf(stdin) ?? latestVersion;
    try {
      const call = parseEnv(env);
      if (call.command === "VERSION")
        return {
          exitCode: 0,
          stdout: JSON.stringify({
            cniVersion: isSupported(version) ? version : latestVersion,
            supportedVersions,
          }),
        };
      const raw = decode(stdin);
      version = checkVersion(raw);
      const conf = parseNetConf(raw, version);
      switch (call.command) {
        case "ADD":
          return { exitCode: 0, stdout: JSON.stringify(writeResult(await this.add(call, conf), version)) };
        case "DEL":
          await this.del(call);
          return { exitCode: 0, stdout: "" };
        case "CHECK":
          await this.check(call);
          return { exitCode: 0, stdout: "" };
        case "GC":
          await this.gc(conf);
          return { exitCode: 0, stdout: "" };
        case "STATUS":
          return { exitCode: 0, stdout: "" };
      }
    } catch (err) {
      const e = toCniError(err);
      const doc = {
        cniVersion: version,
        code: e.code,
        msg: e.msg,
        ...(e.details ? { details: e.details } : {}),
      };
      return { exitCode: 1, stdout: JSON.stringify(doc) };
    }
  }

  private async add(call: CniEnv, conf: NetConf): Promise<Result> {
    const origin = originOf(call);
    if (this.service.endpointByOrigin(origin) !== undefined)
      throw new CniError(
        CniCode.Conflict,
        `container ${call.containerId} already has interface ${call.ifname} on hostnet`,
      );
    const net = await this.ensureNetwork(conf);
    const ns = await this.ensureNamespace(call);
    let ep: Endpoint;
    try {
      ep = await this.service.createEndpoint({
        name: this.endpointName(call),
        network: net.id,
        attach: { namespace: ns.id, ifname: call.ifname },
        ips: conf.ips.map((cidr, i) => ({
          field: `runtimeConfig.ips[${i}]`,
          address: cidr.split("/")[0] ?? "",
        })),
        ...(conf.mac === undefined ? {} : { mac: conf.mac }),
        portMappings: conf.portMappings.map((m) => ({
          field: m.field,
          protocol: m.protocol,
          hostPort: { value: m.hostPort, field: `${m.field}.hostPort` },
          internalPort: { value: m.containerPort, field: `${m.field}.containerPort` },
          ...(m.hostIP === undefined ? {} : { hostIp: { value: m.hostIP, field: `${m.field}.hostIP` } }),
        })),
        policies: [...bandwidthPolicies(conf), ...vlanPolicies(conf)],
        origin,
        ...(conf.dns === undefined ? {} : { dns: conf.dns }),
        ...aliasesOf(conf, call),
      });
    } catch (err) {
      await this.forgetNamespaceIfUnused(ns.id);
      // Asked only now: a look before every ADD would cost a process each time.
      if (
        err instanceof HostnetError &&
        err.code === "Conflict" &&
        (await this.service.interfaceAddresses(call.netns, call.ifname)) !== undefined
      )
        throw new CniError(CniCode.Conflict, `CNI_IFNAME: ${call.ifname} already exists in ${call.netns}`);
      throw err;
    }
    return mergeResults(conf.prevResult, ownResult(ep, net, call));
  }

  /** Best effort, and a success when there is nothing (left) to delete: runtimes repeat DEL. */
  private async del(call: CniEnv): Promise<void> {
    const ep = this.service.endpointByOrigin(originOf(call));
    if (ep === undefined) return;
    await this.remove(ep);
  }

  private async remove(ep: Endpoint): Promise<void> {
    await this.service.deleteEndpoint(ep.id);
    if (ep.attachment?.kind === "namespace") await this.forgetNamespaceIfUnused(ep.attachment.namespaceId);
  }

  /** What a later plugin may change (MAC, sysctls, more addresses) is not hostnet's to complain about. */
  private async check(call: CniEnv): Promise<void> {
    const ep = this.service.endpointByOrigin(originOf(call));
    if (ep?.attachment?.kind !== "namespace")
      throw new CniError(
        CniCode.UnknownContainer,
        `container ${call.containerId} has no interface ${call.ifname} on hostnet`,
      );
    const ns = this.service.namespace(ep.attachment.namespaceId);
    if (ns.path !== call.netns)
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_NETNS: the interface is in ${ns.path}, not ${call.netns}`,
      );
    const have = await this.service.interfaceAddresses(call.netns, call.ifname);
    if (have === undefined)
      throw new CniError(CniCode.UnknownContainer, `${call.ifname} is missing from ${call.netns}`);
    const missing = ep.addresses.filter((a) => !have.includes(`${a.address}/${a.prefixLength}`));
    if (missing.length > 0)
      throw new CniError(
        CniCode.Drift,
        `${call.ifname} in ${call.netns} lacks ${missing.map((a) => a.address).join(", ")}`,
      );
  }

  /** Removes every attachment of the network the runtime no longer knows; goes on past failures. */
  private async gc(conf: NetConf): Promise<void> {
    const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}/${a.ifname}`));
    const network = this.service.findNetwork(conf.network);
    if (network === undefined) return;
    const stale = this.service
      .endpointsByOrigin("cni")
      .filter(({ endpoint, key }) => endpoint.networkId === network.id && !valid.has(key));
    const failures: string[] = [];
    for (const { endpoint, key } of stale)
      await this.remove(endpoint).catch((err: unknown) => failures.push(`${key}: ${toCniError(err).msg}`));
    if (failures.length > 0)
      throw new CniError(
        CniCode.KernelRefused,
        `GC could not remove ${failures.length} of ${stale.length} stale attachments`,
        failures.join("; "),
      );
  }

  private async ensureNetwork(conf: NetConf): Promise<Network> {
    const existing = this.service.findNetwork(conf.network);
    if (existing !== undefined) return existing;
    try {
      return await this.service.createNetwork({
        name: conf.network,
        type: conf.mode,
        subnets: conf.subnets.map((s, i) => ({
          prefix: s.subnet,
          prefixField: conf.subnets.length === 1 ? "ipam.subnet" : `ipam.ranges[${i}][0].subnet`,
          gatewayField: conf.subnets.length === 1 ? "ipam.gateway" : `ipam.ranges[${i}][0].gateway`,
          ...(s.gateway === undefined ? {} : { gateway: s.gateway }),
        })),
        ...(conf.networkDns === undefined ? {} : { dns: conf.networkDns }),
      });
    } catch (err) {
      // Another ADD created it meanwhile.
      const now = this.service.findNetwork(conf.network);
      if (now !== undefined) return now;
      throw err;
    }
  }

  private async ensureNamespace(call: CniEnv): Promise<Namespace> {
    const known = (): Namespace | undefined => this.service.findNamespace(call.netns);
    const existing = known();
    if (existing !== undefined) return existing;
    const name = `${NAMESPACE_PREFIX}${call.containerId.replace(INVALID_NAME_CHARS, "-").slice(0, 40)}-${call.ifname}`;
    try {
      return await this.service.createNamespace({ name, path: call.netns });
    } catch (err) {
      const now = known();
      if (now !== undefined) return now;
      throw err;
    }
  }

  private async forgetNamespaceIfUnused(namespaceId: string): Promise<void> {
    const ns = this.service.findNamespace(namespaceId);
    if (ns === undefined || ns.owned || !ns.name.startsWith(NAMESPACE_PREFIX)) return;
    if (this.service.endpoints({ namespace: ns.id }).length > 0) return;
    await this.service.deleteNamespace(ns.id);
  }

  /** Kubernetes pods by namespace and name, other containers by id; another interface adds its name. */
  private endpointName(call: CniEnv): string {
    const podNs = call.args.get("K8S_POD_NAMESPACE");
    const pod = call.args.get("K8S_POD_NAME");
    const id = call.containerId.replace(INVALID_NAME_CHARS, "-");
    const suffix = call.ifname === "eth0" ? "" : `-${call.ifname}`;
    const pods = podNs && pod ? [`${podNs}.${pod}`.replace(INVALID_NAME_CHARS, "-")] : [];
    // Short names first; a pod's new sandbox may come before the old one's DEL, and short container ids
    // may share a prefix: the whole id, which the origin makes unique, always ends the list.
    const candidates = [
      ...pods.map((p) => `${p}${suffix}`),
      `cni-${id.slice(0, 12)}${suffix}`,
      `cni-${id}${suffix}`,
    ];
    const free = candidates
      .map((n) => n.slice(0, 128))
      .find((n) => this.service.findEndpoint(n) === undefined);
    return free ?? `cni-${randomUUID()}`;
  }
}

/**
 * The names other containers find the container by, besides its endpoint's: the aliases capability's, and the
 * container's name where the runtime passes it as `K8S_POD_NAME` without a pod namespace (Podman, for the
 * dnsname plugin) and it is a domain name. A pod's name is the endpoint's own already.
 */
function aliasesOf(conf: NetConf, call: CniEnv): { aliases?: FieldValue<readonly string[]> } {
  const container = call.args.has("K8S_POD_NAMESPACE") ? undefined : call.args.get("K8S_POD_NAME");
  const name = container === undefined ? undefined : domainName(container);
  const given = conf.aliases;
  if (name === undefined) return given === undefined ? {} : { aliases: given };
  // The name comes last, so that an error about a given alias names its place in the capability's list.
  return given !== undefined && given.value.length > 0
    ? { aliases: { value: [...given.value, name], field: given.field } }
    : { aliases: { value: [name], field: "CNI_ARGS.K8S_POD_NAME" } };
}

/** The bandwidth capability (bits per second) as hostnet's QOS policy (bytes per second). */
function bandwidthPolicies(conf: NetConf): { field: string; policy: EndpointPolicy }[] {
  if (conf.ingressRate === undefined && conf.egressRate === undefined) return [];
  const bytes = (bits: number | undefined): number | null =>
    bits === undefined ? null : Math.floor(bits / 8);
  return [
    {
      field: "runtimeConfig.bandwidth",
      policy: {
        type: "QOS",
        maxIncomingBytesPerSecond: bytes(conf.ingressRate),
        maxOutgoingBytesPerSecond: bytes(conf.egressRate),
      },
    },
  ];
}

function vlanPolicies(conf: NetConf): { field: string; policy: EndpointPolicy }[] {
  return conf.vlan === undefined ? [] : [{ field: "vlan", policy: conf.vlan }];
}

function ownResult(ep: Endpoint, net: Network, call: CniEnv): Result {
  const gatewayOf = (subnetId: number | null): string | undefined =>
    net.subnets.find((s) => s.id === subnetId)?.gateway;
  return {
    interfaces: [
      { name: endpointHostInterface(ep), sandbox: "" },
      { name: call.ifname, mac: ep.mac, mtu: net.mtu, sandbox: call.netns },
    ],
    ips: ep.addresses.map((a) => {
      const gateway = gatewayOf(a.subnetId);
      return {
        address: `${a.address}/${a.prefixLength}`,
        ...(gateway === undefined ? {} : { gateway }),
        interface: 1,
      };
    }),
    routes: ep.addresses.flatMap((a) => {
      const gw = gatewayOf(a.subnetId);
      return gw === undefined ? [] : [{ dst: a.family === 6 ? "::/0" : "0.0.0.0/0", gw }];
    }),
    dns: resultDns(ep, net),
  };
}

/** What the container's resolv.conf should say, for the runtime to write it: the settings hostnet would. */
function resultDns(ep: Endpoint, net: Network): Dns {
  const dns = effectiveDns(ep.dns, net.dns);
  const nameservers = nameserversOf(ep, net);
  return {
    ...(nameservers.length > 0 ? { nameservers } : {}),
    ...(dns.domain === null ? {} : { domain: dns.domain }),
    ...(dns.search.length > 0 ? { search: dns.search } : {}),
    ...(dns.options.length > 0 ? { options: dns.options } : {}),
  };
}
