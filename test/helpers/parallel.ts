/**
 * Concurrency: N endpoint creates through the REST API at once, and N CNI ADDs through the plugin
 * executable at once, then their N DELs at once. Each answer is checked (no error but a legitimate
 * conflict, which these requests, all different, never have), the addresses given are distinct, and the
 * host is consistent afterwards (ownership.ts, `hostnet plan` empty). The namespaces are made beforehand,
 * untimed; the figures are the wall-clock time of each burst.
 */
import { execCni } from "./cni-exec.js";
import type { Lab } from "./lab.js";
import { compare, kernelView, repeated, storeView } from "./ownership.js";
import { must } from "./run.js";

export interface ParallelFigures {
  readonly n: number;
  readonly createMs: number;
  readonly addMs: number;
  readonly delMs: number;
  /** Answers that were neither success nor a conflict. */
  readonly errors: readonly string[];
  readonly conflicts: number;
  readonly duplicates: readonly string[];
  readonly leaked: readonly string[];
  readonly missing: readonly string[];
  readonly plan: number;
}

const elapsed = async (burst: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await burst();
  return Math.round(performance.now() - start);
};

export async function runParallel(lab: Lab, n: number): Promise<ParallelFigures> {
  const { t, d } = lab;
  const errors: string[] = [];
  let conflicts = 0;
  await lab.network("par", ["10.84.0.0/16"]);
  const indices = Array.from({ length: n }, (_, i) => i);
  for (const i of indices) await d.ok("POST", "/namespaces", { Name: t.ns(`p${i}`) });
  const created: string[] = [];
  const createMs = await elapsed(() =>
    Promise.all(
      indices.map(async (i) => {
        const r = await d.api("POST", "/endpoints", {
          Name: `p${i}`,
          HostComputeNetwork: "par",
          HostComputeNamespace: t.ns(`p${i}`),
        });
        if (r.status === 409) conflicts++;
        else if (r.status !== 201) errors.push(`create p${i}: ${r.status} ${JSON.stringify(r.body)}`);
        else
          created.push(
            ...(r.body as { IpConfigurations: { IpAddress: string }[] }).IpConfigurations.map(
              (c) => c.IpAddress,
            ),
          );
      }),
    ),
  );

  for (const i of indices) await must(["ip", "netns", "add", t.ns(`q${i}`)]);
  const cni = { socket: d.socket, network: "par-cni", subnet: "10.86.0.0/16" };
  // The first ADD makes the network: it is not what this measures.
  const first = await execCni(cni, "ADD", "q-first", `/run/netns/${t.ns("q0")}`);
  if (first.exitCode !== 0) errors.push(`first ADD: ${JSON.stringify(first.output)}`);
  await execCni(cni, "DEL", "q-first", `/run/netns/${t.ns("q0")}`);
  const added: string[] = [];
  const cniCall = async (command: "ADD" | "DEL", i: number): Promise<void> => {
    const r = await execCni(cni, command, `q${i}`, `/run/netns/${t.ns(`q${i}`)}`);
    if (r.exitCode !== 0) errors.push(`${command} q${i}: ${JSON.stringify(r.output)}`);
    else added.push(...(r.output.ips ?? []).map((ip) => ip.address));
  };
  const addMs = await elapsed(() => Promise.all(indices.map((i) => cniCall("ADD", i))));
  const duplicates = [...repeated(created), ...repeated(added)];
  const delMs = await elapsed(() => Promise.all(indices.map((i) => cniCall("DEL", i))));

  const found = compare(await storeView(d), await kernelView(t.host, t.prefix));
  const plan = await lab.plan();
  const left = (await d.ok<{ Name: string }[]>("GET", "/endpoints")).filter((e) => e.Name.startsWith("cni-"));
  errors.push(...left.map((e) => `${e.Name} still there after DEL`));
  return {
    n,
    createMs,
    addMs,
    delMs,
    errors,
    conflicts,
    duplicates: [...duplicates, ...found.duplicates],
    leaked: found.leaked,
    missing: found.missing,
    plan: plan.length,
  };
}
