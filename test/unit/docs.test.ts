/**
 * The docs' tables of error mappings and network types, held against the code they describe, both ways: a
 * row the code lacks, or code the docs do not list, fails (Fastify's Errors.md test).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cniCodeOf, CniCode, cniFieldNames } from "../../src/api/cni/errors.js";
import { dockerFieldNames } from "../../src/api/docker/errors.js";
import { buildDockerPlugin } from "../../src/api/docker/server.js";
import { hnsFieldNames } from "../../src/api/hns-fields.js";
import { hnsIgnoredFields } from "../../src/api/rest/closed.js";
import { httpStatus } from "../../src/api/rest/errors.js";
import { limits } from "../../src/model/limits.js";
import { coreFields, errorCodes, type FieldNames } from "../../src/errors.js";
import { DockerPools } from "../../src/ipam/docker-pools.js";
import { networkTypes } from "../../src/model/types.js";
import { modes } from "../../src/modes/index.js";
import { harness, silent } from "./harness.js";

const root = resolve(import.meta.dirname, "../..");
const read = (path: string): string => readFileSync(resolve(root, path), "utf8");

/** The cells of every row of the first Markdown table after `heading` (the header row and rule left out). */
function table(path: string, heading: string): string[][] {
  const text = read(path);
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`${path} has no "${heading}"`);
  const lines = text.slice(at).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const listed = (cell: string | undefined): string[] =>
  (cell ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

describe("docs/errors.md", () => {
  it("lists exactly the error codes of src/errors.ts, with the HTTP status the REST API uses", () => {
    const rows = table("docs/errors.md", "| code ");
    expect(Object.fromEntries(rows.map(([code, status]) => [code, Number(status)]))).toEqual(
      Object.fromEntries(errorCodes.map((c) => [c, httpStatus[c]])),
    );
  });
});

describe("docs/errors.md, Field names", () => {
  it("lists every field the service names, and what each door answers for it", () => {
    const doors: FieldNames[] = [hnsFieldNames, dockerFieldNames, cniFieldNames];
    const code = coreFields.map((f) => [f, ...doors.map((names) => names[f] ?? f)]);
    const rows = table("docs/errors.md", "| core field ").map(([field, , ...names]) =>
      [field, ...names].map((cell = "") => cell.replaceAll("`", "")),
    );
    expect(rows).toEqual(code);
  });
});

describe("docs/cni.md, Errors", () => {
  const rows = table("docs/cni.md", "## Errors");
  /** The codes the plugin executable answers by itself, from its source. */
  const shimCodes = [...read("cni/hostnet-cni.c").matchAll(/^#define CNI_\w+ (\d+)$/gm)].map((m) =>
    Number(m[1]),
  );

  it("lists every code hostnetd or the plugin executable answers, and no other", () => {
    const codes = [...new Set([...Object.values(CniCode), ...shimCodes])].sort((a, b) => a - b);
    expect(rows.map(([code]) => Number(code))).toEqual(codes);
  });

  it("says which of hostnetd's errors becomes which code, as the CNI door maps them", () => {
    const documented = rows.flatMap(([code, , from]) => listed(from).map((e) => [e, Number(code)]));
    expect(Object.fromEntries(documented)).toEqual(cniCodeOf);
  });
});

describe("docs/docker.md, Errors", () => {
  /** One request per row of the table: what Docker could send that hostnet answers with an error. */
  const probes: Record<string, { url: string; payload: string }> = {
    "a `/NetworkDriver.*` call hostnet refuses": {
      url: "/NetworkDriver.Join",
      payload: JSON.stringify({ NetworkID: "n", EndpointID: "no-such-endpoint", SandboxKey: "/x" }),
    },
    "an `/IpamDriver.*` call hostnet refuses": {
      url: "/IpamDriver.ReleasePool",
      payload: JSON.stringify({ PoolID: "no-such-pool" }),
    },
    "a body that is not JSON": { url: "/NetworkDriver.CreateNetwork", payload: "{not json" },
    "a method hostnet does not implement (`GwAllocCheck`)": {
      url: "/NetworkDriver.GwAllocCheck",
      payload: "{}",
    },
  };
  const rows = table("docs/docker.md", "## Errors");

  it("has a probe for every row, and a row for every probe", () => {
    expect(rows.map(([request]) => request).sort()).toEqual(Object.keys(probes).sort());
  });

  it.each(rows)("%s: answers status %s with the message in %s", async (request, status, keys) => {
    const h = harness();
    const pools = new DockerPools(h.store, (family, taken, field) =>
      h.service.freeSubnet(family, taken, field),
    );
    const app = buildDockerPlugin(h.service, pools, silent);
    try {
      const probe = probes[request];
      if (probe === undefined) throw new Error(`no probe for "${request}"`);
      const res = await app.inject({ method: "POST", url: probe.url, payload: probe.payload });
      expect(res.statusCode, res.body).toBe(Number(status));
      const body = res.json<Record<string, unknown>>();
      const named = listed(keys).map((k) => k.replaceAll("`", ""));
      expect(Object.keys(body).sort()).toEqual(named.sort());
      for (const k of named) expect(body[k]).toEqual(expect.any(String));
    } finally {
      await app.close();
      h.close();
    }
  });
});

describe("the network types", () => {
  const rows = table("docs/modes.md", "| type ");

  it("docs/modes.md has one row per type, saying what its mode does of port mappings and default routes", () => {
    expect(rows.map(([type]) => type).sort()).toEqual([...networkTypes].sort());
    for (const [type = "", , , , portMappings, defaultRoute] of rows) {
      const mode = modes[type as keyof typeof modes];
      expect(portMappings, type).toBe(mode.portMappings ? "yes" : "no");
      expect(defaultRoute !== "none", type).toBe(mode.defaultRoute);
    }
  });

  it("docs/api.md names every type POST /networks takes", () => {
    const row = table("docs/api.md", "| ").find(([route]) => route === "`POST /networks`");
    const types = /Type: (.*?)(?:,\s*InterContainer|\})/.exec(row?.[1] ?? "")?.[1] ?? "";
    expect([...types.matchAll(/"(\w+)"/g)].map((m) => m[1]).sort()).toEqual([...networkTypes].sort());
  });
});

describe("docs/api.md, Limits and HNS fields", () => {
  it("lists every limit of src/model/limits.ts and the schemas, with its value", () => {
    const rows = table("docs/api.md", "## Limits").map(([list, most]) => [list ?? "", Number(most)] as const);
    const byList = (start: string): number | undefined => rows.find(([list]) => list.startsWith(start))?.[1];
    expect(byList("`Routes`")).toBe(limits.routes);
    expect(byList("`Policies`")).toBe(limits.policies);
    expect(byList("port mappings of an endpoint")).toBe(limits.portMappings);
    expect(byList("items of a list")).toBe(limits.settingsList);
    expect(byList("`FrontendVIPs`")).toBe(limits.vips);
    expect(byList("`PortMappings`")).toBe(limits.lbPortMappings);
    expect(byList("`HostComputeEndpoints`")).toBe(limits.lbBackends);
    expect(byList("nft elements of a load balancer")).toBe(limits.lbElements);
    // Ipams, Subnets and IpConfigurations are HNS's own shape.
    expect(rows).toHaveLength(Object.keys(limits).length + 3);
  });

  it("lists exactly the HNS fields the REST schemas accept and ignore", () => {
    const rows = table("docs/api.md", "## HNS fields accepted and ignored").map(([object, fields]) => [
      (object ?? "").split(" ")[0],
      listed(fields),
    ]);
    expect(Object.fromEntries(rows)).toEqual(hnsIgnoredFields);
  });
});
