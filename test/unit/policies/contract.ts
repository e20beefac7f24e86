/**
 * The contract every policy kind passes (as test/unit/modes/contract.ts does for modes): run it from
 * `<kind>.test.ts`. A check may be skipped only with a reason.
 */
import { describe, expect, it } from "vitest";
import type { EndpointSpec, NetworkSpec } from "../../../src/core/service.js";
import type { Endpoint, Network } from "../../../src/model/types.js";
import { identity, type KernelObject } from "../../../src/dataplane/objects.js";
import {
  endpointSettingKinds,
  networkSettingKinds,
  policyKinds,
  type AnyPolicyKind,
} from "../../../src/policies/index.js";
import type { EndpointSettingKind, NetworkSettingKind, Place } from "../../../src/policies/kind.js";
import {
  parseEndpointPolicies,
  parseNetworkPolicies,
  parsePolicies,
  parsePolicy,
  type PolicyDocument,
} from "../../../src/policies/parse.js";
import { endpointPolicyViews, networkPolicyViews } from "../../../src/policies/view.js";
import { harness, thrown, uniqueName, type Harness } from "../harness.js";

type ContractCheck =
  | "the registry has it under its type"
  | "parse, view and parse again give the same"
  | "malformed Settings are refused naming the field"
  | "its kernel objects are planned, and removed when it goes"
  | "where it may not appear it is refused naming its Type";

/** How a kind is tried. */
export interface PolicySample {
  /** Settings of a policy that asks something of the kernel, given as `Policies[0]`. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Malformed Settings, each with the field it is refused at. */
  readonly malformed: readonly { readonly settings: unknown; readonly field: string }[];
  /** The network it is tried on, when not a NAT network of 10.88.0.0/24. */
  readonly network?: Omit<NetworkSpec, "name">;
  /** What hostnetd needs for that network (--host-address, the underlay, an uplink NIC). */
  readonly host?: Parameters<typeof harness>[0];
  /** Checks that do not apply to this kind, with the reason. */
  readonly skip?: Partial<Record<ContractCheck, string>>;
}

const SETTINGS = "Policies[0].Settings";
const places: readonly Place[] = ["endpoint", "network"];

function check(sample: PolicySample, name: ContractCheck, fn: () => void | Promise<void>): void {
  const skip = sample.skip?.[name];
  if (skip !== undefined) it.skip(`${name} (skipped: ${skip})`, fn);
  else it(name, fn);
}

/** A network of the sample's, and an endpoint of it attached to a namespace. */
async function lab(
  sample: PolicySample,
  body: (h: Harness, net: Network, ep: Endpoint) => Promise<void>,
  portMappings: EndpointSpec["portMappings"] = [],
): Promise<void> {
  const h = harness(sample.host);
  try {
    const net = await h.service.createNetwork({
      name: "n1",
      ...(sample.network ?? {
        type: "NAT",
        subnets: [{ prefix: "10.88.0.0/24", prefixField: "Ipams[0]", gatewayField: "Ipams[0]" }],
      }),
    });
    const ns = await h.service.createNamespace({ name: uniqueName("policy") });
    const ep = await h.service.createEndpoint({
      name: "e1",
      network: net.id,
      ips: [],
      portMappings,
      policies: [],
      attach: { namespace: ns.name },
    });
    await body(h, net, ep);
  } finally {
    h.close();
  }
}

const kernelState = (h: Harness): Map<string, KernelObject> =>
  new Map(h.kernel.list().map((o) => [identity(o), o]));

/** Runs `change`, expects it to add objects of `owners` only and to leave the kernel converged. */
async function expectPlanned(h: Harness, owners: readonly string[], change: () => Promise<unknown>) {
  const before = kernelState(h);
  await change();
  const added = [...kernelState(h)].filter(([id]) => !before.has(id)).map(([, o]) => o);
  expect(added.length).toBeGreaterThan(0);
  for (const o of added) expect(owners).toContain(o.owner);
  expect((await h.reconciler.preview()).ops).toEqual([]);
  return before;
}

function refusedElsewhere(type: string, settings: unknown, allowed: readonly Place[]): void {
  const doc: PolicyDocument = { Type: type, Settings: settings };
  for (const place of places.filter((p) => !allowed.includes(p))) {
    const parse = place === "endpoint" ? parseEndpointPolicies : parseNetworkPolicies;
    expect(thrown(() => parse([doc])).detail.field, place).toBe("Policies[0].Type");
    expect(thrown(() => parsePolicies([doc], place)).detail.field, place).toBe("Policies[0].Type");
  }
}

/** The contract of a policy hostnet keeps in an endpoint's or a network's list. */
export function runPolicyContract(kind: AnyPolicyKind, sample: PolicySample): void {
  describe(`policy contract: ${kind.type}`, () => {
    check(sample, "the registry has it under its type", () => {
      expect(Object.entries(policyKinds).find(([, k]) => k === kind)?.[0]).toBe(kind.type);
    });

    check(sample, "parse, view and parse again give the same", () => {
      const policy = kind.parse(SETTINGS, sample.settings);
      const view = kind.view(policy);
      expect(kind.parse(SETTINGS, view)).toEqual(policy);
      expect(kind.view(kind.parse(SETTINGS, view))).toEqual(view);
    });

    check(sample, "malformed Settings are refused naming the field", () => {
      expect(sample.malformed.length).toBeGreaterThan(0);
      for (const { settings, field } of sample.malformed) {
        const err = thrown(() =>
          parsePolicy("Policies[0]", kind.type, settings, kind.places[0] ?? "network"),
        );
        expect({ code: err.code, field: err.detail.field }, JSON.stringify(settings)).toEqual({
          code: "InvalidArgument",
          field,
        });
      }
    });

    check(sample, "its kernel objects are planned, and removed when it goes", async () => {
      for (const place of kind.places)
        await lab(sample, async (h, net, ep) => {
          const docs = [{ Type: kind.type, Settings: sample.settings }];
          const change = (requestType: "Add" | "Remove") =>
            place === "endpoint"
              ? h.service.modifyPolicies(ep.id, { requestType, policies: parsePolicies(docs, place) })
              : h.service.modifyNetworkPolicies(net.id, {
                  requestType,
                  policies: parsePolicies(docs, place),
                });
          const before = await expectPlanned(h, [`ep:${ep.id}`, `net:${net.id}`], () => change("Add"));
          await change("Remove");
          expect(kernelState(h)).toEqual(before);
        });
    });

    check(sample, "where it may not appear it is refused naming its Type", () => {
      refusedElsewhere(kind.type, sample.settings, kind.places);
    });
  });
}

/** The contract of a policy that sets part of the network or endpoint it is given with. */
export function runSettingContract(
  kind: NetworkSettingKind | EndpointSettingKind,
  place: Place,
  sample: PolicySample,
): void {
  const docs: PolicyDocument[] = [{ Type: kind.type, Settings: sample.settings }];
  /** What the documents set, and the documents the object shows for this kind once made with them. */
  const made = async (
    body: (shown: PolicyDocument[], h: Harness, net: Network, ep: Endpoint) => Promise<void>,
  ): Promise<void> => {
    if (place === "network") {
      const { policies, adapter, overlay } = parseNetworkPolicies(docs);
      const base = sample.network ?? { type: "NAT", subnets: [] };
      const network = {
        ...base,
        ...(adapter === undefined ? {} : { adapter }),
        ...(overlay === undefined ? {} : { overlay: { ...base.overlay, ...overlay } }),
        policies,
      };
      await lab({ ...sample, network }, async (h, net, ep) =>
        body(
          networkPolicyViews(net).filter((d) => d.Type === kind.type),
          h,
          net,
          ep,
        ),
      );
      return;
    }
    const { portMappings } = parseEndpointPolicies(docs);
    await lab(
      sample,
      async (h, net, ep) =>
        body(
          endpointPolicyViews(ep).filter((d) => d.Type === kind.type),
          h,
          net,
          ep,
        ),
      portMappings,
    );
  };
  const parsed = (shown: readonly PolicyDocument[]) =>
    place === "network" ? parseNetworkPolicies(shown) : parseEndpointPolicies(shown);

  describe(`setting contract: ${kind.type}`, () => {
    check(sample, "the registry has it under its type", () => {
      const registry = place === "network" ? networkSettingKinds : endpointSettingKinds;
      expect(Object.entries(registry).find(([, k]) => k === kind)?.[0]).toBe(kind.type);
    });

    check(sample, "parse, view and parse again give the same", async () => {
      await made((shown) => {
        expect(shown).toHaveLength(1);
        expect(parsed(shown)).toEqual(parsed(docs));
        return Promise.resolve();
      });
    });

    check(sample, "malformed Settings are refused naming the field", () => {
      expect(sample.malformed.length).toBeGreaterThan(0);
      for (const { settings, field } of sample.malformed) {
        const err = thrown(() => parsed([{ Type: kind.type, Settings: settings }]));
        expect({ code: err.code, field: err.detail.field }, JSON.stringify(settings)).toEqual({
          code: "InvalidArgument",
          field,
        });
      }
    });

    check(sample, "its kernel objects are planned, and removed when it goes", async () => {
      if (place === "network") throw new Error("a network keeps its settings while it lives: skip with why");
      await made(async (_, h, net, ep) => {
        const before = kernelState(h);
        await h.service.setPortMappings(ep.id, []);
        await expectPlanned(h, [`ep:${ep.id}`, `net:${net.id}`], () =>
          h.service.setPortMappings(ep.id, parseEndpointPolicies(docs).portMappings),
        );
        expect(kernelState(h)).toEqual(before);
      });
    });

    check(sample, "where it may not appear it is refused naming its Type", () => {
      refusedElsewhere(kind.type, sample.settings, [place]);
      // A policy request changes the policies hostnet keeps, not what a network or endpoint was made with.
      expect(thrown(() => parsePolicies(docs, place)).detail.field).toBe("Policies[0].Type");
    });
  });
}
