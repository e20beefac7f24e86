/**
 * The contract every network mode passes (as Hono's `runTest({ newRouter, skip })`): run it from
 * `<mode>.test.ts`. A check may be skipped or marked as a known bug only with a reason.
 */
import { describe, expect, it } from "vitest";
import { globalObjects } from "../../../src/dataplane/desired.js";
import { identity, parentOf, type KernelObject } from "../../../src/dataplane/objects.js";
import type { NetworkSpec } from "../../../src/core/specs.js";
import { plan } from "../../../src/dataplane/plan.js";
import { HostnetError } from "../../../src/errors.js";
import type { PortMapping } from "../../../src/model/types.js";
import type { NetworkMode } from "../../../src/modes/index.js";
import { applyOps } from "../../helpers/memory-kernel.js";
import {
  adopted,
  dualNet,
  endpointOf,
  modeHost,
  namespaceNamed,
  ns,
  specOf,
  tcp,
  udp,
  v4Net,
  v6Net,
} from "./samples.js";

type ContractCheck =
  | "network objects are owned by the network, with unique identities"
  | "endpoint objects are owned by the endpoint, with unique identities"
  | "endpoints and networks never share an identity"
  | "every parent an object names is among the objects of its network and the globals"
  | "a network and its endpoints converge from an empty kernel in one plan"
  | "deleting an endpoint leaves its network intact in one plan"
  | "a detached endpoint has no objects"
  | "modes are pure: the same input gives the same objects"
  | "a spec of its own validates and prepares, with a VXLAN and an uplink as the spec asks"
  | "a setting only other types take is refused, naming its field";

export interface ContractOptions {
  /** Checks that do not apply to this mode, with the reason. */
  readonly skip?: Partial<Record<ContractCheck, string>>;
  /** A spec this mode takes, with every setting it needs; one IPv4 subnet and nothing else by default. */
  readonly spec?: NetworkSpec;
}

/** The settings only some types take, each given under its own field name. */
const typeSettings: readonly {
  readonly field: string;
  readonly given: (spec: NetworkSpec) => boolean;
  readonly add: (spec: NetworkSpec) => NetworkSpec;
}[] = [
  {
    field: "adapterField",
    given: (spec) => spec.adapter !== undefined,
    add: (spec) => ({ ...spec, adapter: { name: "lan0", field: "adapterField" } }),
  },
  {
    field: "vniField",
    given: (spec) => spec.overlay?.vni !== undefined,
    add: (spec) => ({ ...spec, overlay: { ...spec.overlay, vni: { value: 4096, field: "vniField" } } }),
  },
  {
    field: "portField",
    given: (spec) => spec.overlay?.port !== undefined,
    add: (spec) => ({ ...spec, overlay: { ...spec.overlay, port: { value: 4789, field: "portField" } } }),
  },
  {
    field: "overheadField",
    given: (spec) => spec.overlay?.overhead !== undefined,
    add: (spec) => ({
      ...spec,
      overlay: { ...spec.overlay, overhead: { value: 50, field: "overheadField" } },
    }),
  },
];

const ids = (objects: readonly KernelObject[]): string[] => objects.map(identity);

export function runModeContract(mode: NetworkMode, opts: ContractOptions = {}): void {
  const networks = [dualNet, v4Net, v6Net];
  // Host ports are unique per host (the service refuses a second mapping of one), so each endpoint has its own.
  const mappingsOf = (i: number): PortMapping[] =>
    mode.portMappings ? [tcp(8080 + i, 80), udp(5353 + i, 53, "127.0.0.1"), tcp(8443 + i, 443, "::1")] : [];
  const spaces = networks.map((_, i) => (i === 0 ? ns : namespaceNamed(`c${i + 1}`, i + 1)));
  const eps = networks.map((net, i) =>
    endpointOf(net, { mappings: mappingsOf(i), attached: spaces[i] ?? ns }),
  );
  /** The objects of endpoint i, attached to its own namespace. */
  const epObjects = (i: number): KernelObject[] => {
    const ep = eps[i];
    const net = networks[i];
    const space = spaces[i];
    if (ep === undefined || net === undefined || space === undefined) throw new Error(`no endpoint ${i}`);
    return mode.endpointObjects(ep, net, space);
  };

  const spec = opts.spec ?? specOf(mode.type);
  const check = (name: ContractCheck, fn: () => void | Promise<void>): void => {
    const skip = opts.skip?.[name];
    if (skip !== undefined) it.skip(`${name} (skipped: ${skip})`, fn);
    else it(name, fn);
  };

  describe(`mode contract: ${mode.type}`, () => {
    check("network objects are owned by the network, with unique identities", () => {
      for (const net of networks) {
        const objects = mode.networkObjects(net);
        expect(objects.length).toBeGreaterThan(0);
        for (const o of objects) expect(o.owner).toBe(`net:${net.id}`);
        expect(new Set(ids(objects)).size).toBe(objects.length);
      }
    });

    check("endpoint objects are owned by the endpoint, with unique identities", () => {
      eps.forEach((ep, i) => {
        const objects = epObjects(i);
        expect(objects.length).toBeGreaterThan(0);
        for (const o of objects) expect(o.owner).toBe(`ep:${ep.id}`);
        expect(new Set(ids(objects)).size).toBe(objects.length);
      });
    });

    check("endpoints and networks never share an identity", () => {
      const other = endpointOf(dualNet, { host: 3, attached: adopted, mappings: [] });
      const all = [
        ...globalObjects(),
        ...networks.flatMap((n) => mode.networkObjects(n)),
        ...eps.flatMap((_, i) => epObjects(i)),
        ...mode.endpointObjects(other, dualNet, adopted),
      ];
      expect(new Set(ids(all)).size).toBe(all.length);
    });

    check("every parent an object names is among the objects of its network and the globals", () => {
      networks.forEach((net, i) => {
        const all = [...globalObjects(), ...mode.networkObjects(net), ...epObjects(i)];
        const known = new Set(ids(all));
        for (const o of all) {
          const parent = parentOf(o);
          if (parent !== undefined) expect(known, `${identity(o)} names ${parent}`).toContain(parent);
        }
      });
    });

    check("a network and its endpoints converge from an empty kernel in one plan", () => {
      const second = endpointOf(dualNet, { host: 3, attached: adopted, ifname: "net1", mappings: [] });
      const desired = [
        ...globalObjects(),
        ...mode.networkObjects(dualNet),
        ...epObjects(0),
        ...mode.endpointObjects(second, dualNet, adopted),
      ];
      const state = new Map<string, KernelObject>();
      applyOps(state, plan(desired, []).ops);
      expect(plan(desired, [...state.values()]).ops).toEqual([]);
    });

    check("deleting an endpoint leaves its network intact in one plan", () => {
      const base = [...globalObjects(), ...mode.networkObjects(dualNet)];
      const state = new Map<string, KernelObject>();
      applyOps(state, plan([...base, ...epObjects(0)], []).ops);
      applyOps(state, plan(base, [...state.values()]).ops);
      expect(new Set(state.keys())).toEqual(new Set(ids(base)));
    });

    check("a detached endpoint has no objects", () => {
      for (const net of networks) {
        const detached = endpointOf(net, { attached: null, mappings: mappingsOf(0) });
        expect(mode.endpointObjects(detached, net, ns)).toEqual([]);
      }
    });

    check("modes are pure: the same input gives the same objects", () => {
      const ep = eps[0];
      if (ep === undefined) throw new Error("no endpoint");
      expect(mode.networkObjects(dualNet)).toEqual(mode.networkObjects(structuredClone(dualNet)));
      expect(mode.endpointObjects(ep, dualNet, ns)).toEqual(
        mode.endpointObjects(structuredClone(ep), structuredClone(dualNet), ns),
      );
    });

    check(
      "a spec of its own validates and prepares, with a VXLAN and an uplink as the spec asks",
      async () => {
        mode.validate(spec, modeHost);
        const prepared = await mode.prepare(spec, modeHost);
        expect(prepared.overlay !== null).toBe(spec.overlay?.vni !== undefined);
        expect(prepared.uplink !== null).toBe(spec.adapter !== undefined);
      },
    );

    check("a setting only other types take is refused, naming its field", () => {
      const foreign = typeSettings.filter((s) => !s.given(spec));
      for (const setting of foreign) {
        let refused: unknown;
        try {
          mode.validate(setting.add(spec), modeHost);
        } catch (err) {
          refused = err;
        }
        expect(refused, setting.field).toBeInstanceOf(HostnetError);
        expect(refused).toMatchObject({ code: "InvalidArgument", detail: { field: setting.field } });
      }
    });
  });
}
