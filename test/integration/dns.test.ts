/**
 * DNS: resolv.conf files hostnet writes for its namespaces, and its resolver on a network's gateway
 * answering real clients (glibc's getent through `ip netns exec`, busybox nslookup) by endpoint name, alias,
 * NAME.DOMAIN and address, only to clients on its network, and forwarding the rest to an upstream in the
 * "external" namespace.
 */
import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";

/** A one-name DNS server (upstream.example A 198.51.100.7, TTL 300) on UDP port 53 of `ns`. */
const UPSTREAM = `
import { createSocket } from "node:dgram";
import { decode, encode } from "dns-packet";
const s = createSocket("udp4");
s.on("message", (m, from) => {
  const q = decode(m);
  const name = q.questions[0].name;
  const known = name === "upstream.example" && q.questions[0].type === "A";
  const answers = known ? [{ type: "A", name, ttl: 300, data: "198.51.100.7" }] : [];
  s.send(encode({ type: "response", id: q.id, flags: known ? 0x180 : 0x183, questions: q.questions, answers }), from.port, from.address);
});
s.bind(53, () => console.log("ready"));
`;

function startUpstream(ns: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--input-type=module", "-e", UPSTREAM], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.stdout.once("data", () =>
      resolve({
        stop: () =>
          new Promise<void>((done) => {
            child.once("close", () => done());
            child.kill();
          }),
      }),
    );
  });
}

describe.skipIf(needsRoot)("DNS: resolv.conf and the network's resolver", () => {
  const lab = useLab();
  let a: EndpointBody;
  let b: EndpointBody;
  const getent = (ns: string, key: string) => run(["ip", "netns", "exec", ns, "getent", "hosts", key]);
  const nslookup = (ns: string, name: string, server: string) =>
    run(["ip", "netns", "exec", ns, "busybox", "nslookup", name, server]);
  const resolvConf = (ns: string) => readFile(`/etc/netns/${ns}/resolv.conf`, "utf8");

  beforeAll(async () => {
    lab.cleanup.track(await startUpstream(lab.t.ext));
    await lab.network("names", ["10.53.0.0/24"], {
      Dns: { Domain: "lab.test", ServerList: [lab.t.extIp4], Options: ["ndots:1"] },
    });
    a = await lab.container("a", "names", { Aliases: ["db"] });
    b = await lab.container("b", "names");
  });

  it("writes the namespace's resolv.conf, marked as hostnet's, naming the network's resolver", async () => {
    const text = await resolvConf(lab.t.ns("b"));
    expect(text.split("\n")[0]).toMatch(/^# hostnet:ns:[0-9a-f-]{36}@[0-9a-f]+ \(written by hostnet/);
    expect(text.split("\n").slice(1).join("\n")).toBe(
      "nameserver 10.53.0.1\nsearch lab.test\noptions ndots:1\n",
    );
  });

  it("answers endpoint names, aliases, NAME.DOMAIN and addresses to glibc and busybox", async () => {
    const ipA = a.IpConfigurations[0]?.IpAddress ?? "";
    for (const key of ["a", "db", "a.lab.test", "DB.lab.test"])
      expect((await getent(lab.t.ns("b"), key)).stdout, key).toMatch(
        new RegExp(`^${ipA.replaceAll(".", "\\.")}\\s`),
      );
    expect((await getent(lab.t.ns("b"), ipA)).stdout).toMatch(/\sa\.lab\.test/);
    const answer = await nslookup(lab.t.ns("b"), "a", "10.53.0.1");
    expect(answer.stdout).toContain(ipA);
    expect((await nslookup(lab.t.ns("b"), "nobody", "10.53.0.1")).stdout).toMatch(/NXDOMAIN|can't find/);
  });

  it("forwards other names to the network's ServerList, with the upstream's answer", async () => {
    expect((await getent(lab.t.ns("a"), "upstream.example")).stdout).toMatch(/^198\.51\.100\.7\s/);
  });

  it("answers only its own network's clients; another network's names are NXDOMAIN", async () => {
    await lab.network("others", ["10.54.0.0/24"]);
    await lab.container("c", "others");
    expect((await nslookup(lab.t.ns("c"), "a", "10.54.0.1")).stdout).toMatch(/NXDOMAIN|can't find/);
    expect((await nslookup(lab.t.ns("c"), "c", "10.54.0.1")).stdout).toContain("10.54.0.");
    const asked = await nslookup(lab.t.ns("c"), "a", "10.53.0.1");
    expect(asked.stdout).not.toContain(a.IpConfigurations[0]?.IpAddress ?? "?");
  });

  it("refuses a name or alias another endpoint of the network has (409) and bad settings (400) naming the field", async () => {
    const clash = await lab.d.api("POST", "/endpoints", {
      Name: "e1",
      HostComputeNetwork: "names",
      Aliases: ["A"],
    });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ error: { field: "Aliases[0]" } });
    const server = await lab.d.api("POST", "/networks", {
      Name: "bad1",
      Dns: { ServerList: ["10.0.0.300"] },
    });
    expect(server.status).toBe(400);
    expect(server.body).toMatchObject({ error: { field: "Dns.ServerList[0]" } });
    const search = await lab.d.api("POST", "/networks", { Name: "bad2", Dns: { Search: ["no..dots"] } });
    expect(search.status).toBe(400);
    expect(search.body).toMatchObject({ error: { field: "Dns.Search[0]" } });
    expect((await lab.d.api("GET", "/networks/bad1")).status).toBe(404);
  });

  // A bridge without a MAC of its own takes the lowest of its ports' and changes it when that port goes; the
  // clients' neighbour entries for the gateway still name the old one, so their next queries were flooded to
  // the other ports instead of reaching the resolver (Podman's nslookup right after `podman rm`).
  it("answers a client at once after the endpoint whose port had the lowest MAC is deleted", async () => {
    await lab.network("churn", ["10.55.0.0/24"]);
    const eps = [];
    for (const name of ["p", "q", "r"]) eps.push(await lab.container(name, "churn"));
    const mac = async (dev: string) =>
      (
        JSON.parse(await must(["ip", "-n", lab.t.host, "-j", "link", "show", "dev", dev])) as {
          address: string;
        }[]
      )[0]?.address ?? "?";
    const portMacs = await Promise.all(eps.map((ep) => mac(ep.HostInterfaceName)));
    const lowest = portMacs.indexOf([...portMacs].sort()[0] ?? "");
    const gone = eps[lowest];
    const client = eps[(lowest + 1) % eps.length];
    if (gone === undefined || client === undefined) throw new Error("no endpoints");
    const dig = (name: string) =>
      run(inNs(lab.t.ns(client.Name), ["dig", "+tries=1", "+time=2", "@10.55.0.1", name]));
    const bridge =
      (await must(["ip", "-n", lab.t.host, "-o", "addr", "show", "to", "10.55.0.1"])).split(/\s+/)[1] ?? "?";
    const bridgeMac = await mac(bridge);
    expect((await dig(gone.Name)).stdout).toContain(gone.IpConfigurations[0]?.IpAddress ?? "?");
    await lab.d.ok("DELETE", `/endpoints/${gone.ID}`);
    expect(await mac(bridge)).toBe(bridgeMac);
    expect((await dig(gone.Name)).stdout).toContain("status: NXDOMAIN");
  });

  it("forgets a deleted endpoint's name at once, and removes resolv.conf with its namespace", async () => {
    await lab.d.ok("DELETE", `/endpoints/${b.ID}`);
    expect((await getent(lab.t.ns("a"), "b")).code).not.toBe(0);
    await lab.d.ok("DELETE", `/namespaces/${lab.t.ns("b")}`);
    expect(
      await within(2000, () =>
        stat(`/etc/netns/${lab.t.ns("b")}`).then(
          () => false,
          () => true,
        ),
      ),
    ).toBeDefined();
  });
});
