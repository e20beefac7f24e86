/**
 * Names under Docker (helpers/docker-engine.ts): a hostnet network keeps Docker's own resolver at 127.0.0.11,
 * which answers the network's containers by name and alias; what the driver is told (`-o dns*` on the
 * network, the container's `--dns`) reaches hostnet, and a container whose `--dns` is the network's gateway
 * has Docker's resolver forward through hostnet's, to the network's ServerList: a dnsmasq in the external
 * namespace.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { dockerSkipReason, startDockerEngine, type DockerEngine } from "../helpers/docker-engine.js";
import { dnsmasqSkipReason, startDnsmasq } from "../helpers/dnsmasq.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

const skipReason = needsRoot ? undefined : (dockerSkipReason() ?? dnsmasqSkipReason("the Docker DNS test"));
const SUBNET = "10.66.0.0/24";
const GATEWAY = "10.66.0.1";
const UPSTREAM_NAME = "upstream.example";
const UPSTREAM_ADDRESS = "198.51.100.7";

interface NetworkBody {
  Dns: { Domain: string; Search: string[]; ServerList: string[]; Options: string[] };
  DnsResolver: boolean;
}
interface EndpointBody {
  Name: string;
  IpConfigurations: { IpAddress: string }[];
  Dns: { ServerList: string[] };
}

describe.skipIf(needsRoot || skipReason !== undefined)("DNS on a Docker network of hostnet's", () => {
  const lab = useLab();
  let engine: DockerEngine;
  let web: string;

  const docker = (...args: string[]): Promise<string> => engine.mustDocker(args, 60_000);
  /** busybox nslookup in the container, through its resolv.conf unless a server is named. */
  const nslookup = async (container: string, name: string, server?: string): Promise<string> =>
    (await engine.docker(["exec", container, "nslookup", name, ...(server === undefined ? [] : [server])]))
      .stdout;

  beforeAll(async () => {
    lab.cleanup.track(await startDnsmasq(lab.t.ext, lab.t.extIp4, { [UPSTREAM_NAME]: UPSTREAM_ADDRESS }));
    engine = await startDockerEngine({ netns: lab.t.host, pluginDir: lab.d.pluginDir, prefix: lab.t.prefix });
    lab.cleanup.add(() => engine.stop());
    await docker(
      "network",
      "create",
      "--driver",
      "hostnet",
      "--subnet",
      SUBNET,
      "-o",
      `dns=${lab.t.extIp4}`,
      "-o",
      "dns-domain=docker.test",
      "-o",
      "dns-search=docker.test,example",
      "hnd",
    );
    await docker(
      "run",
      "--detach",
      "--name",
      "web",
      "--network",
      "hnd",
      "--network-alias",
      "www",
      engine.image,
      "sleep",
      "3600",
    );
    await docker(
      "run",
      "--detach",
      "--name",
      "client",
      "--network",
      "hnd",
      "--dns",
      GATEWAY,
      engine.image,
      "sleep",
      "3600",
    );
    web = (
      await docker("inspect", "-f", '{{(index .NetworkSettings.Networks "hnd").IPAddress}}', "web")
    ).trim();
  });

  it("takes the network's Dns from -o dns*, and the container's --dns as its endpoint's ServerList", async () => {
    const [net] = await lab.d.ok<NetworkBody[]>("GET", "/networks");
    expect(net).toMatchObject({
      Dns: { Domain: "docker.test", Search: ["docker.test", "example"], ServerList: [lab.t.extIp4] },
      DnsResolver: true,
    });
    const eps = await lab.d.ok<EndpointBody[]>("GET", "/endpoints");
    const client = eps.find((e) => !e.IpConfigurations.some((ip) => ip.IpAddress === web));
    expect(client?.Dns.ServerList).toEqual([GATEWAY]);
  });

  it("keeps Docker's resolver: 127.0.0.11 answers the network's containers by name and alias", async () => {
    expect(await docker("exec", "client", "cat", "/etc/resolv.conf")).toMatch(/^nameserver 127\.0\.0\.11$/m);
    for (const name of ["web", "www"])
      expect(await nslookup("client", name), name).toContain(`Address: ${web}`);
  });

  it("forwards another name through the --dns of the gateway, hostnet's resolver, to the network's ServerList", async () => {
    expect(await nslookup("client", UPSTREAM_NAME)).toContain(`Address: ${UPSTREAM_ADDRESS}`);
  });

  it("answers hostnet's names of Docker's endpoints on the gateway, with the network's domain", async () => {
    const eps = await lab.d.ok<EndpointBody[]>("GET", "/endpoints");
    const webEp = eps.find((e) => e.IpConfigurations.some((ip) => ip.IpAddress === web));
    expect(await nslookup("client", `${webEp?.Name ?? "?"}.docker.test`, GATEWAY)).toContain(
      `Address: ${web}`,
    );
  });
});
