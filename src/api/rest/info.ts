/**
 * GET /info: what `hostnet info` shows: hostnetd's version, the HNS release and features it answers as, the
 * kernel features it found, its networks and endpoints by network type, whether etcd answers, and where its
 * socket and store are.
 */
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { commit, version } from "../../build-info.js";
import type { HostnetService } from "../../core/service.js";
import { featureStates, type FeatureState, type KernelFeature } from "../../model/kernel-features.js";
import { supportedFeatures } from "../../model/hns-features.js";
import { hnsVersion } from "../../model/hns-version.js";
import { HnsFeaturesWire, HnsVersionWire } from "./globals.js";

/** What hostnetd knows of itself beyond its service: given by the daemon, and by tests. */
export interface InfoSource {
  readonly socket: string;
  readonly store: string;
  readonly kernel: () => { readonly release: string; readonly features: Record<KernelFeature, FeatureState> };
  /** Absent without --etcd. */
  readonly etcd?: { readonly endpoints: readonly string[]; readonly connected: () => boolean };
}

const Counts = Type.Record(Type.String(), Type.Integer(), { description: "How many, by network type" });

export const InfoWire = Type.Object({
  Version: Type.String(),
  Commit: Type.String(),
  Hns: Type.Object({ Version: HnsVersionWire, Features: HnsFeaturesWire }),
  Kernel: Type.Object({
    Release: Type.String(),
    Features: Type.Record(Type.String(), Type.Enum(featureStates), {
      description:
        "Each feature hostnet can use (vlan is 802.1Q devices, vlanFiltering the VLAN filtering of bridges that VLAN policies need) and whether this kernel has it",
    }),
  }),
  Networks: Counts,
  Endpoints: Counts,
  Etcd: Type.Object({
    State: Type.Union([Type.Literal("off"), Type.Literal("connected"), Type.Literal("unreachable")]),
    Endpoints: Type.Array(Type.String()),
  }),
  Socket: Type.String(),
  Store: Type.String(),
});
export type InfoWire = Static<typeof InfoWire>;

function count(types: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of types) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

function info(service: HostnetService, source: InfoSource): InfoWire {
  const networks = service.networks();
  const typeOf = new Map(networks.map((n) => [n.id, n.type]));
  const kernel = source.kernel();
  return {
    Version: version,
    Commit: commit,
    Hns: { Version: hnsVersion(), Features: supportedFeatures() },
    Kernel: { Release: kernel.release, Features: kernel.features },
    Networks: count(networks.map((n) => n.type)),
    Endpoints: count(service.endpoints().map((e) => typeOf.get(e.networkId) ?? "unknown")),
    Etcd:
      source.etcd === undefined
        ? { State: "off", Endpoints: [] }
        : {
            State: source.etcd.connected() ? "connected" : "unreachable",
            Endpoints: [...source.etcd.endpoints],
          },
    Socket: source.socket,
    Store: source.store,
  };
}

export function registerInfoRoute(app: FastifyInstance, service: HostnetService, source: InfoSource): void {
  app
    .withTypeProvider<TypeBoxTypeProvider>()
    .get("/info", { schema: { response: { 200: InfoWire } } }, () => info(service, source));
}
