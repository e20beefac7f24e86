/** --output table|wide|json|yaml on every list and inspect, and colour only on a terminal without NO_COLOR. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { networkTable } from "../../../src/cli/network.js";
import { columnTable, table, yaml } from "../../../src/cli/output.js";
import { planText } from "../../../src/cli/plan.js";
import { listedPolicies, policyTable } from "../../../src/cli/policy.js";
import { runCli, startFakeHostnetd, type FakeHostnetd } from "./fake-hostnetd.js";
import { dualNetwork, guardedEndpoint, natNetwork, web1Endpoint, web1Namespace } from "./samples.js";

const bold = (text: string): string => `\x1b[1m${text}\x1b[0m`;

describe("renderers", () => {
  it("yaml is the same value as the JSON, without a trailing newline", () => {
    const text = yaml([natNetwork, dualNetwork]);
    expect(parse(text)).toStrictEqual([natNetwork, dualNetwork]);
    expect(text.endsWith("\n")).toBe(false);
    expect(text.split("\n")[0]).toBe(`- ID: ${natNetwork.ID}`);
  });

  it("a coloured table bolds its header after padding, so the columns stay aligned", () => {
    expect(table(["ID", "NAME"], [["1", "a"]], true)).toBe(`${bold("ID   NAME")}\n1    a`);
  });

  it("a wide table adds its wide columns where they stand; the usual table leaves them out", () => {
    const columns = [
      { header: "A", cell: (n: number) => `a${String(n)}` },
      { header: "W", wide: true as const, cell: (n: number) => `w${String(n)}` },
      { header: "B", cell: (n: number) => `b${String(n)}` },
    ];
    expect(columnTable(columns, [1], { wide: false, colour: false })).toBe("A    B\na1   b1");
    expect(columnTable(columns, [1], { wide: true, colour: false })).toBe("A    W    B\na1   w1   b1");
  });

  it("the wide network table adds gateways, MTU, policies and when it was made", () => {
    expect(networkTable([natNetwork], { wide: true, colour: false }).split("\n")).toStrictEqual([
      "ID             NAME   TYPE   SUBNETS         GATEWAYS     MTU    BRIDGE         POLICIES   ORIGIN   CREATED",
      "3f2a9c1e-7b6   nat    NAT    172.17.0.0/16   172.17.0.1   1500   hnb-3f2a9c1e   -          -        2025-01-01T00:00:00.000Z",
    ]);
  });

  it("the wide policy table adds each policy's settings as the API has them", () => {
    const [header = "", first = ""] = policyTable(listedPolicies(guardedEndpoint), {
      wide: true,
      colour: false,
    }).split("\n");
    expect(header.trimEnd().endsWith("SETTINGS")).toBe(true);
    const settings = guardedEndpoint.Policies.find((p) => p.Type !== "PortMapping")?.Settings;
    expect(first.endsWith(JSON.stringify(settings))).toBe(true);
  });

  it("plan colours its signs only when asked", () => {
    const plan = { Operations: [{ Action: "create", Kind: "link", Object: "veth hnv-1" }] };
    expect(planText(plan)).toBe("+ create  veth hnv-1");
    expect(planText(plan, { wide: false, colour: true })).toBe("\x1b[32m+\x1b[0m create  veth hnv-1");
  });
});

describe("hostnet --output", () => {
  let hostnetd: FakeHostnetd;
  beforeEach(async () => {
    hostnetd = await startFakeHostnetd();
    hostnetd.on("GET", "/networks", { status: 200, body: [natNetwork] });
    hostnetd.on("GET", "/networks/nat", { status: 200, body: natNetwork });
    hostnetd.on("GET", "/namespaces", { status: 200, body: [web1Namespace] });
    hostnetd.on("GET", "/endpoints", { status: 200, body: [web1Endpoint] });
    hostnetd.on("GET", `/endpoints/web1`, { status: 200, body: web1Endpoint });
  });
  afterEach(async () => {
    await hostnetd.close();
  });
  const cli = (...argv: string[]): ReturnType<typeof runCli> =>
    runCli(["--socket", hostnetd.socket, ...argv]);

  it("yaml prints the API's answer, before or after the command words, as -o or --output=", async () => {
    for (const argv of [
      ["-o", "yaml", "network", "ls"],
      ["network", "ls", "--output", "yaml"],
      ["network", "ls", "--output=yaml"],
    ]) {
      const result = await cli(...argv);
      expect(result.code).toBe(0);
      expect(parse(result.stdout)).toStrictEqual([natNetwork]);
    }
  });

  it("inspect prints JSON by default, YAML or a one-row table on asking", async () => {
    expect(JSON.parse((await cli("network", "inspect", "nat")).stdout)).toStrictEqual(natNetwork);
    expect(parse((await cli("network", "inspect", "nat", "-o", "yaml")).stdout)).toStrictEqual(natNetwork);
    expect((await cli("network", "inspect", "nat", "-o", "table")).stdout).toBe(
      `${networkTable([natNetwork])}\n`,
    );
    expect(parse((await cli("endpoint", "inspect", "web1", "-o", "yaml")).stdout)).toStrictEqual(
      web1Endpoint,
    );
  });

  it("wide adds columns; json and yaml ask hostnetd for nothing the answer does not hold", async () => {
    const wide = (await cli("endpoint", "ls", "-o", "wide")).stdout.split("\n")[0] ?? "";
    expect(wide.split(/ {3,}/)).toStrictEqual([
      "ID",
      "NAME",
      "NETWORK",
      "NAMESPACE",
      "IFNAME",
      "HOST IFNAME",
      "IPS",
      "GATEWAYS",
      "MAC",
      "PORTS",
      "POLICIES",
    ]);
    hostnetd.requests.length = 0;
    await cli("endpoint", "ls", "-o", "yaml");
    expect(hostnetd.requests.map((r) => r.url)).toStrictEqual(["/endpoints"]);
  });

  it("refuses a format it does not know, and --json with another format, as usage errors", async () => {
    expect(await cli("network", "ls", "-o", "xml")).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining('--output "xml" is not one of table, wide, json, yaml') as string,
    });
    expect((await cli("network", "ls", "--json", "-o", "yaml")).stderr).toContain(
      "--json and --output yaml ask for different output",
    );
    expect(hostnetd.requests).toStrictEqual([]);
  });

  it("colours only on a terminal, and not there when NO_COLOR is set", async () => {
    const argv = ["--socket", hostnetd.socket, "network", "ls"];
    expect((await runCli(argv, {}, true)).stdout).toBe(
      `${networkTable([natNetwork], { wide: false, colour: true })}\n`,
    );
    expect((await runCli(argv, {}, true)).stdout.startsWith("\x1b[1mID ")).toBe(true);
    expect((await runCli(argv, { NO_COLOR: "1" }, true)).stdout).toBe(`${networkTable([natNetwork])}\n`);
    expect((await runCli(argv, {}, false)).stdout).toBe(`${networkTable([natNetwork])}\n`);
  });
});

describe("network rm --force", () => {
  let hostnetd: FakeHostnetd;
  beforeEach(async () => {
    hostnetd = await startFakeHostnetd();
    hostnetd.on("GET", "/endpoints?network=web", { status: 200, body: [web1Endpoint, web1Endpoint] });
    hostnetd.on("DELETE", "/networks/web?force=true", { status: 204 });
  });
  afterEach(async () => {
    await hostnetd.close();
  });
  const argv = (): string[] => ["--socket", hostnetd.socket, "network", "rm", "--force", "web"];

  it("on a terminal, shows what it removes on a status line, cleared before the answer", async () => {
    const result = await runCli(argv(), {}, true);
    expect(result.code).toBe(0);
    const clear = "\r\x1b[2K";
    expect(result.stdout.startsWith(`${clear}removing network web and its 2 endpoints… 0s`)).toBe(true);
    expect(result.stdout.endsWith(`${clear}web\n`)).toBe(true);
  });

  it("off a terminal, prints only the name and asks nothing more of hostnetd", async () => {
    expect(await runCli(argv())).toStrictEqual({ code: 0, stdout: "web\n", stderr: "" });
    expect(hostnetd.requests.map((r) => `${r.method} ${r.url}`)).toStrictEqual([
      "DELETE /networks/web?force=true",
    ]);
  });
});
