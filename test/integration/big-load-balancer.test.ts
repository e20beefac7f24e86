import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

/**
 * The most a load balancer may make (docs/api.md): 16 VIPs × 64 port mappings × 64 backends, 65,536 nft
 * elements of lbBackends4, and 1,024 frontends in lbFront4 and lbSpread4 each.
 */
const VIPS = Array.from({ length: 16 }, (_, i) => `198.51.100.${String(i + 1)}`);
const PORT_MAPPINGS = Array.from({ length: 64 }, (_, i) => ({
  Protocol: 6,
  InternalPort: 8080,
  ExternalPort: 1000 + i,
}));
const BACKENDS = Array.from({ length: 64 }, (_, i) => `b${String(i)}`);

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

describe.skipIf(needsRoot)("the API during the largest load balancer a request may ask for", () => {
  const lab = useLab();

  it("answers GET /networks while the load balancer is being created, and deletes it in one go", async () => {
    const { d } = lab;
    await lab.network("n1", ["10.73.0.0/24"]);
    // Backends in no namespace: the test is about the API while the kernel takes the elements.
    for (const Name of BACKENDS) await d.ok("POST", "/endpoints", { Name, HostComputeNetwork: "n1" });
    const idle = (await timed(() => d.api("GET", "/networks"))).ms;

    const state = { done: false };
    const create = timed(() =>
      d.ok<{ ID: string }>("POST", "/loadbalancers", {
        HostComputeEndpoints: BACKENDS,
        FrontendVIPs: VIPS,
        PortMappings: PORT_MAPPINGS,
      }),
    ).finally(() => (state.done = true));
    const during: number[] = [];
    while (!state.done) {
      const get = await timed(() => d.api("GET", "/networks"));
      expect(get.value.status).toBe(200);
      // An answer that came after the load balancer was made did not wait on its converge either way.
      if (!(state.done as boolean)) during.push(get.ms);
    }
    const created = await create;
    // Figures, not assertions: the machine's load decides them.
    console.log(
      `POST of ${String(VIPS.length * PORT_MAPPINGS.length)} frontends × ${String(BACKENDS.length)} backends: ` +
        `${created.ms.toFixed(0)} ms; ` +
        `GET /networks idle ${idle.toFixed(1)} ms, during it ${String(during.length)} answers, ` +
        `median ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms`,
    );
    expect(during.length).toBeGreaterThan(0);

    const deleted = await timed(() => d.ok("DELETE", `/loadbalancers/${created.value.ID}`));
    console.log(`DELETE: ${deleted.ms.toFixed(0)} ms`);
    expect(await lab.plan()).toEqual([]);
  });
});
