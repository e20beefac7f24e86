/** The whole CLI, in process, against a fake hostnetd on a temp unix socket. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { versionLine } from "../../../src/build-info.js";
import type { Entry } from "../../../src/cli/command.js";
import { commands } from "../../../src/cli/commands.js";
import { runCli, startFakeHostnetd, type FakeHostnetd } from "./fake-hostnetd.js";
import {
  dualNetwork,
  guardedEndpoint,
  natNetwork,
  overlayNetwork,
  web1Endpoint,
  web1Namespace,
} from "./samples.js";

let hostnetd: FakeHostnetd;
beforeEach(async () => {
  hostnetd = await startFakeHostnetd();
});
afterEach(async () => {
  await hostnetd.close();
});

const cli = (...argv: string[]): ReturnType<typeof runCli> => runCli(["--socket", hostnetd.socket, ...argv]);
const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

describe("network", () => {
  it("create sends the HNS body and prints the new ID", async () => {
    hostnetd.on("POST", "/networks", { status: 201, body: dualNetwork });
    const result = await cli(
      ...["network", "create", "dual", "--subnet", "172.21.0.0/16", "--subnet", "fd21::/64"],
      ...["--gateway", "fd21::1", "--gateway", "172.21.0.1", "--mtu", "1450"],
    );
    expect(result).toStrictEqual({ code: 0, stdout: `${dualNetwork.ID}\n`, stderr: "" });
    expect(hostnetd.requests).toStrictEqual([
      {
        method: "POST",
        url: "/networks",
        contentType: "application/json",
        body: {
          Name: "dual",
          Type: "NAT",
          Ipams: [
            {
              Type: "Static",
              Subnets: [
                {
                  IpAddressPrefix: "172.21.0.0/16",
                  Routes: [{ NextHop: "172.21.0.1", DestinationPrefix: "0.0.0.0/0" }],
                },
                { IpAddressPrefix: "fd21::/64", Routes: [{ NextHop: "fd21::1", DestinationPrefix: "::/0" }] },
              ],
            },
          ],
          Mtu: 1450,
        },
      },
    ]);
  });

  it("create --json prints the API's answer", async () => {
    hostnetd.on("POST", "/networks", { status: 201, body: natNetwork });
    expect((await cli("network", "create", "nat", "--json")).stdout).toBe(json(natNetwork));
  });

  it("ls prints a table, or with --json (before or after the command words) the API's list", async () => {
    hostnetd.on("GET", "/networks", { status: 200, body: [natNetwork, dualNetwork] });
    const table = await cli("network", "ls");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toBe(
      "ID             NAME         TYPE   SUBNETS                   BRIDGE         ORIGIN",
    );
    expect(table.stdout.split("\n")).toHaveLength(4);
    expect((await runCli(["--json", "--socket", hostnetd.socket, "network", "list"])).stdout).toBe(
      json([natNetwork, dualNetwork]),
    );
  });

  it("inspect prints JSON unless --output says otherwise, and escapes the reference in the URL", async () => {
    hostnetd.on("GET", "/networks/my%20net%2F1", { status: 200, body: natNetwork });
    expect(await cli("network", "inspect", "my net/1")).toStrictEqual({
      code: 0,
      stdout: json(natNetwork),
      stderr: "",
    });
  });

  it("rm deletes, with ?force=true only when asked", async () => {
    hostnetd.on("DELETE", "/networks/web", { status: 204 });
    hostnetd.on("DELETE", "/networks/web?force=true", { status: 204 });
    expect(await cli("network", "rm", "web")).toStrictEqual({ code: 0, stdout: "web\n", stderr: "" });
    expect(await cli("network", "remove", "--force", "web")).toMatchObject({ code: 0 });
    expect(await cli("network", "rm", "-f", "web", "--json")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(hostnetd.requests.map((r) => `${r.method} ${r.url}`)).toStrictEqual([
      "DELETE /networks/web",
      "DELETE /networks/web?force=true",
      "DELETE /networks/web?force=true",
    ]);
    expect(hostnetd.requests.every((r) => r.body === undefined && r.contentType === undefined)).toBe(true);
  });
});

describe("namespace", () => {
  it("create adopts a netns by path and prints its ID", async () => {
    hostnetd.on("POST", "/namespaces", { status: 201, body: web1Namespace });
    expect(await cli("namespace", "create", "web1", "--path", "/proc/42/ns/net")).toMatchObject({
      code: 0,
      stdout: `${web1Namespace.ID}\n`,
    });
    expect(hostnetd.requests[0]?.body).toStrictEqual({ Name: "web1", Path: "/proc/42/ns/net" });
  });

  it("ls prints a table and rm deletes", async () => {
    hostnetd.on("GET", "/namespaces", { status: 200, body: [web1Namespace] });
    hostnetd.on("DELETE", "/namespaces/web1", { status: 204 });
    expect((await cli("namespace", "ls")).stdout).toBe(
      [
        "ID             NAME   PATH              OWNED   ENDPOINTS",
        "a1b2c3d4-e5f   web1   /run/netns/web1   yes     1",
        "",
      ].join("\n"),
    );
    expect(await cli("namespace", "rm", "web1")).toStrictEqual({ code: 0, stdout: "web1\n", stderr: "" });
  });
});

describe("endpoint", () => {
  it("create sends every flag in HNS form and prints the new ID", async () => {
    hostnetd.on("POST", "/endpoints", { status: 201, body: web1Endpoint });
    const result = await cli(
      ...["endpoint", "create", "web1", "--network", "nat", "--namespace", "web1", "--ifname", "eth1"],
      ...[
        "--ip",
        "172.17.0.9",
        "--mac",
        "02:00:00:00:00:09",
        "-p",
        "8080:80",
        "--publish",
        "[::1]:5353:53/udp",
      ],
    );
    expect(result).toStrictEqual({ code: 0, stdout: `${web1Endpoint.ID}\n`, stderr: "" });
    expect(hostnetd.requests[0]).toStrictEqual({
      method: "POST",
      url: "/endpoints",
      contentType: "application/json",
      body: {
        Name: "web1",
        HostComputeNetwork: "nat",
        HostComputeNamespace: "web1",
        InterfaceName: "eth1",
        IpConfigurations: [{ IpAddress: "172.17.0.9" }],
        MacAddress: "02:00:00:00:00:09",
        Policies: [
          { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8080 } },
          {
            Type: "PortMapping",
            Settings: { Protocol: "UDP", InternalPort: 53, ExternalPort: 5353, VIP: "::1" },
          },
        ],
      },
    });
  });

  it("attach sends the namespace, detach sends no body; both are quiet unless --json", async () => {
    hostnetd.on("POST", "/endpoints/web1/attach", { status: 200, body: web1Endpoint });
    hostnetd.on("POST", "/endpoints/web1/detach", { status: 200, body: web1Endpoint });
    expect(await cli("endpoint", "attach", "web1", "--namespace", "web1", "--ifname", "eth1")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(await cli("endpoint", "detach", "web1", "--json")).toStrictEqual({
      code: 0,
      stdout: json(web1Endpoint),
      stderr: "",
    });
    expect(hostnetd.requests).toStrictEqual([
      {
        method: "POST",
        url: "/endpoints/web1/attach",
        contentType: "application/json",
        body: { HostComputeNamespace: "web1", InterfaceName: "eth1" },
      },
      { method: "POST", url: "/endpoints/web1/detach", contentType: undefined, body: undefined },
    ]);
  });

  it("ls --network filters on the server and names networks and namespaces in the table", async () => {
    hostnetd.on("GET", "/endpoints?network=nat", { status: 200, body: [web1Endpoint] });
    hostnetd.on("GET", "/networks", { status: 200, body: [natNetwork] });
    hostnetd.on("GET", "/namespaces", { status: 200, body: [web1Namespace] });
    const result = await cli("endpoint", "ls", "--network", "nat");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[1]).toBe(
      "01234567-89a   web1   nat       web1        eth0     172.17.0.2   02:42:ac:11:00:02   8080->80/tcp,[::1]:5353->53/udp",
    );
  });

  it("ls --json prints the API's list and asks for nothing else", async () => {
    hostnetd.on("GET", "/endpoints", { status: 200, body: [web1Endpoint] });
    expect((await cli("endpoint", "ls", "--json")).stdout).toBe(json([web1Endpoint]));
    expect(hostnetd.requests.map((r) => r.url)).toStrictEqual(["/endpoints"]);
  });

  it("inspect prints JSON and rm deletes", async () => {
    hostnetd.on("GET", "/endpoints/web1", { status: 200, body: web1Endpoint });
    hostnetd.on("DELETE", "/endpoints/web1", { status: 204 });
    expect((await cli("endpoint", "inspect", "web1")).stdout).toBe(json(web1Endpoint));
    expect(await cli("endpoint", "rm", "web1")).toStrictEqual({ code: 0, stdout: "web1\n", stderr: "" });
  });
});

describe("policy", () => {
  const ssh = "action=allow,dir=in,proto=tcp,lport=22";
  const sshSettings = {
    Action: "Allow",
    Direction: "In",
    Protocols: "6",
    LocalAddresses: "",
    RemoteAddresses: "",
    LocalPorts: "22",
    RemotePorts: "",
    Priority: 100,
  };
  const listed = guardedEndpoint.Policies.slice(1);

  it("endpoint create sends --acl, --qos-out and --qos-in with the port mappings", async () => {
    hostnetd.on("POST", "/endpoints", { status: 201, body: guardedEndpoint });
    expect(
      await cli(
        ...["endpoint", "create", "web1", "--network", "nat", "-p", "8080:80", "--acl", ssh],
        ...["--qos-out", "8Mbit", "--acl", "action=block,dir=out,raddr=169.254.169.254,prio=1"],
      ),
    ).toStrictEqual({ code: 0, stdout: `${guardedEndpoint.ID}\n`, stderr: "" });
    expect(hostnetd.requests[0]?.body).toStrictEqual({
      Name: "web1",
      HostComputeNetwork: "nat",
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8080 } },
        { Type: "ACL", Settings: sshSettings },
        {
          Type: "ACL",
          Settings: {
            ...sshSettings,
            Action: "Block",
            Direction: "Out",
            Protocols: "",
            RemoteAddresses: "169.254.169.254",
            LocalPorts: "",
            Priority: 1,
          },
        },
        { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000 } },
      ],
    });
  });

  it("add sends an Add and is quiet; with --json it prints the endpoint", async () => {
    hostnetd.on("POST", "/endpoints/web%201/policies", { status: 200, body: guardedEndpoint });
    expect(await cli("policy", "add", "web 1", "--acl", ssh, "--qos-in", "1MiB")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(await cli("policy", "add", "web 1", "--qos-out", "1MB", "--json")).toStrictEqual({
      code: 0,
      stdout: json(guardedEndpoint),
      stderr: "",
    });
    expect(hostnetd.requests).toStrictEqual([
      {
        method: "POST",
        url: "/endpoints/web%201/policies",
        contentType: "application/json",
        body: {
          RequestType: "Add",
          Policies: [
            { Type: "ACL", Settings: sshSettings },
            { Type: "QOS", Settings: { MaximumIncomingBandwidthInBytes: 1_048_576 } },
          ],
        },
      },
      {
        method: "POST",
        url: "/endpoints/web%201/policies",
        contentType: "application/json",
        body: {
          RequestType: "Add",
          Policies: [{ Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1e6 } }],
        },
      },
    ]);
  });

  it("set sends an Update of the given policies", async () => {
    hostnetd.on("POST", "/endpoints/web1/policies", { status: 200, body: guardedEndpoint });
    expect(await cli("policy", "set", "web1", "--acl", ssh)).toMatchObject({ code: 0, stdout: "" });
    expect(hostnetd.requests[0]?.body).toStrictEqual({
      RequestType: "Update",
      Policies: [{ Type: "ACL", Settings: sshSettings }],
    });
  });

  it("rm --index and --qos read the endpoint, then send back exactly the policies it showed", async () => {
    hostnetd.on("GET", "/endpoints/web1", { status: 200, body: guardedEndpoint });
    hostnetd.on("POST", "/endpoints/web1/policies", { status: 200, body: web1Endpoint });
    expect(await cli("policy", "rm", "web1", "--index", "4", "--qos", "--index", "1")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(hostnetd.requests.map((r) => `${r.method} ${r.url}`)).toStrictEqual([
      "GET /endpoints/web1",
      "POST /endpoints/web1/policies",
    ]);
    expect(hostnetd.requests[1]?.body).toStrictEqual({
      RequestType: "Remove",
      Policies: [listed[2], listed[3], listed[0]],
    });
  });

  it("rm --acl sends the rule as add wrote it, without reading the endpoint", async () => {
    hostnetd.on("POST", "/endpoints/web1/policies", { status: 200, body: web1Endpoint });
    expect(await cli("policy", "remove", "web1", "--acl", ssh, "--json")).toStrictEqual({
      code: 0,
      stdout: json(web1Endpoint),
      stderr: "",
    });
    expect(hostnetd.requests).toStrictEqual([
      {
        method: "POST",
        url: "/endpoints/web1/policies",
        contentType: "application/json",
        body: { RequestType: "Remove", Policies: [{ Type: "ACL", Settings: sshSettings }] },
      },
    ]);
  });

  it("rm --all sends an empty Update", async () => {
    hostnetd.on("POST", "/endpoints/web1/policies", { status: 200, body: web1Endpoint });
    expect(await cli("policy", "rm", "web1", "--all")).toMatchObject({ code: 0 });
    expect(hostnetd.requests[0]?.body).toStrictEqual({ RequestType: "Update", Policies: [] });
  });

  it("rm --index past the end exits 1 after reading the endpoint, and changes nothing", async () => {
    hostnetd.on("GET", "/endpoints/web1", { status: 200, body: guardedEndpoint });
    expect(await cli("policy", "rm", "web1", "--index", "6")).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: 'hostnet: --index 6: endpoint "web1" has 5 policies\n',
    });
    hostnetd.on("GET", "/endpoints/web1", { status: 200, body: web1Endpoint });
    expect(await cli("policy", "rm", "web1", "--qos")).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: 'hostnet: --qos: endpoint "web1" has no QoS policy\n',
    });
    expect(hostnetd.requests.map((r) => r.method)).toStrictEqual(["GET", "GET"]);
  });

  it("rm of a policy the endpoint lacks exits 1 with hostnetd's message", async () => {
    hostnetd.on("POST", "/endpoints/web1/policies", {
      status: 404,
      body: {
        error: {
          code: "NotFound",
          message: "Policies[0]: the endpoint has no such policy",
          field: "Policies[0]",
        },
      },
    });
    expect(await cli("policy", "rm", "web1", "--acl", ssh)).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: "hostnet: Policies[0]: the endpoint has no such policy\n",
    });
  });

  it("ls prints the numbered table, or with --json the policies it numbers", async () => {
    hostnetd.on("GET", "/endpoints/web1/policies", { status: 200, body: { Policies: listed } });
    const table = await cli("policy", "ls", "web1");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n").slice(0, 2)).toStrictEqual([
      "INDEX   TYPE          DIRECTION   ACTION   PRIORITY   PROTOCOLS   LOCAL        REMOTE                            PORTS/RATE            PACKETS   BYTES",
      "1       ACL           In          Allow    100        tcp         any          10.0.0.0/8,fd00::/8               local 22,8000-8080    -         -",
    ]);
    expect(table.stdout.split("\n")).toHaveLength(7);
    expect(await cli("policy", "list", "web1", "--json")).toStrictEqual({
      code: 0,
      stdout: json(listed),
      stderr: "",
    });
  });
});

describe("policy --remote-subnet", () => {
  const route = overlayNetwork.Policies[2];
  const post = (body: unknown): unknown => ({
    method: "POST",
    url: "/networks/vxlan0/policies",
    contentType: "application/json",
    body,
  });
  const get = { method: "GET", url: "/networks/vxlan0", contentType: undefined, body: undefined };

  it("add reads the network's VSID, then adds the route", async () => {
    hostnetd.on("GET", "/networks/vxlan0", { status: 200, body: overlayNetwork });
    hostnetd.on("POST", "/networks/vxlan0/policies", { status: 200, body: overlayNetwork });
    expect(
      await cli(
        ...["policy", "add", "--network", "vxlan0", "--remote-subnet", "10.244.2.0/24"],
        ...["--provider", "192.168.77.2", "--router-mac", "0a:68:c0:a8:4d:02"],
      ),
    ).toStrictEqual({ code: 0, stdout: "", stderr: "" });
    expect(hostnetd.requests).toStrictEqual([get, post({ RequestType: "Add", Policies: [route] })]);
  });

  it("rm sends back the route to that subnet exactly as the network shows it", async () => {
    hostnetd.on("GET", "/networks/vxlan0", { status: 200, body: overlayNetwork });
    hostnetd.on("POST", "/networks/vxlan0/policies", { status: 200, body: overlayNetwork });
    expect(
      await cli("policy", "rm", "--network", "vxlan0", "--remote-subnet", "10.244.2.0/24"),
    ).toMatchObject({
      code: 0,
      stderr: "",
    });
    expect(hostnetd.requests).toStrictEqual([get, post({ RequestType: "Remove", Policies: [route] })]);
  });

  it("ls --network shows the route, without the VXLAN's own policies", async () => {
    hostnetd.on("GET", "/networks/vxlan0", { status: 200, body: overlayNetwork });
    const table = (await cli("policy", "ls", "--network", "vxlan0")).stdout.split("\n");
    expect(table).toHaveLength(3);
    expect(table[1]).toMatch(
      /^1 +RemoteSubnetRoute +Out( +-){4} +10\.244\.2\.0\/24 via 0a:68:c0:a8:4d:02 at 192\.168\.77\.2 /,
    );
    expect(JSON.parse((await cli("policy", "ls", "--network", "vxlan0", "--json")).stdout)).toStrictEqual([
      route,
    ]);
  });

  it("a missing network is hostnetd's not-found, and nothing is changed", async () => {
    hostnetd.on("GET", "/networks/vxlan9", {
      status: 404,
      body: { error: { code: "NotFound", message: 'network "vxlan9" not found' } },
    });
    const argv = ["--network", "vxlan9", "--remote-subnet", "10.244.2.0/24"];
    for (const result of [
      await cli("policy", "add", ...argv, "--provider", "192.168.77.2"),
      await cli("policy", "rm", ...argv),
    ])
      expect(result).toStrictEqual({ code: 1, stdout: "", stderr: 'hostnet: network "vxlan9" not found\n' });
    expect(hostnetd.requests.map((r) => r.method)).toStrictEqual(["GET", "GET"]);
  });

  it("hostnetd's refusal names the field, on one line with exit 1", async () => {
    hostnetd.on("GET", "/networks/vxlan0", { status: 200, body: overlayNetwork });
    const message = "Policies[0].Settings.DestinationPrefix: 10.244.1.0/25 overlaps the network's subnet";
    hostnetd.on("POST", "/networks/vxlan0/policies", {
      status: 400,
      body: {
        error: { code: "InvalidArgument", message, field: "Policies[0].Settings.DestinationPrefix" },
      },
    });
    expect(
      await cli(
        ...["policy", "add", "--network", "vxlan0"],
        ...["--remote-subnet", "10.244.1.0/25", "--provider", "192.168.77.2"],
      ),
    ).toStrictEqual({ code: 1, stdout: "", stderr: `hostnet: ${message}\n` });
  });
});

describe("plan", () => {
  it("prints one line per operation", async () => {
    hostnetd.on("GET", "/plan", {
      status: 200,
      body: { Operations: [{ Action: "create", Kind: "bridge", Object: "bridge hnb-3f2a9c1e mtu 1500" }] },
    });
    expect(await cli("plan")).toStrictEqual({
      code: 0,
      stdout: "+ create  bridge hnb-3f2a9c1e mtu 1500\n",
      stderr: "",
    });
  });

  it("says when the kernel already matches", async () => {
    hostnetd.on("GET", "/plan", { status: 200, body: { Operations: [] } });
    expect((await cli("plan")).stdout).toBe("nothing to change: the kernel matches the store\n");
  });
});

describe("socket", () => {
  it("comes from HOSTNET_SOCKET when --socket is not given, and --socket wins over it", async () => {
    hostnetd.on("GET", "/plan", { status: 200, body: { Operations: [] } });
    expect(await runCli(["plan"], { HOSTNET_SOCKET: hostnetd.socket })).toMatchObject({ code: 0 });
    const elsewhere = join(hostnetd.dir, "elsewhere.sock");
    expect(await runCli(["plan", "--socket", hostnetd.socket], { HOSTNET_SOCKET: elsewhere })).toMatchObject({
      code: 0,
    });
    expect(hostnetd.requests).toHaveLength(2);
  });
});

describe("exit codes", () => {
  it.each([
    [["bogus"], 'unknown command "bogus"', "hostnet"],
    [["network", "bogus"], 'unknown command "bogus"', "hostnet network"],
    [["network"], "missing command", "hostnet network"],
    [["network", "ls", "--bogus"], "unknown option '--bogus'", "hostnet network ls"],
    [["network", "create"], "missing argument NAME", "hostnet network create"],
    [
      ["network", "create", "web", "--mtu"],
      "option '--mtu <value>' argument missing",
      "hostnet network create",
    ],
    [["network", "rm", "a", "b"], 'unexpected argument "b"', "hostnet network rm"],
    [["plan", "now"], 'unexpected argument "now"', "hostnet plan"],
    [["plan", "--json=yes"], "option '--json' does not take an argument", "hostnet plan"],
    [["endpoint", "create", "web1"], "missing required option --network", "hostnet endpoint create"],
    [
      ["endpoint", "create", "web1", "--network", "nat", "--publish", "80"],
      '--publish "80" is not [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]',
      "hostnet endpoint create",
    ],
    [["endpoint", "attach", "web1"], "missing required option --namespace", "hostnet endpoint attach"],
    [
      ["endpoint", "create", "web1", "--network", "nat", "--acl", "action=allow,dir=in,lport=0"],
      '--acl "action=allow,dir=in,lport=0": lport "0" is not a port or range from 1 to 65535, e.g. 80 or 8000-8080',
      "hostnet endpoint create",
    ],
    [
      ["endpoint", "create", "web1", "--network", "nat", "--qos-out", "fast"],
      '--qos-out "fast" is not a rate in bytes per second: 500, 10KB, 1MiB, 8Mbit',
      "hostnet endpoint create",
    ],
    [
      ["policy", "add", "web1"],
      "nothing to add: give --acl, --qos-out, --qos-in, --vlan or, with --network, --remote-subnet",
      "hostnet policy add",
    ],
    [
      ["policy", "add", "vxlan0", "--remote-subnet", "10.244.2.0/24", "--provider", "192.168.77.2"],
      "--remote-subnet is a network's policy: give --network and the overlay network",
      "hostnet policy add",
    ],
    [
      ["policy", "add", "web1", "--acl", "action=allow,dir=sideways"],
      '--acl "action=allow,dir=sideways": dir "sideways" is not in or out',
      "hostnet policy add",
    ],
    [
      ["policy", "add", "web1", "--qos-in", "1Tbit"],
      '--qos-in "1Tbit": unit "Tbit" is not one of B, KB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit, Gbit',
      "hostnet policy add",
    ],
    [["policy", "add", "--acl", "action=allow,dir=in"], "missing argument ENDPOINT", "hostnet policy add"],
    [
      ["policy", "set", "web1"],
      "nothing to set: give --acl, --qos-out, --qos-in or --vlan; 'hostnet policy rm ENDPOINT --all' removes every policy",
      "hostnet policy set",
    ],
    [
      ["policy", "rm", "web1", "--index", "0"],
      "--index \"0\" is not a number from 1 up, as 'hostnet policy ls' shows",
      "hostnet policy rm",
    ],
    [
      ["policy", "rm", "web1", "--all", "--qos"],
      "--all removes every policy: give it alone",
      "hostnet policy rm",
    ],
    [["policy", "rm", "web1", "--qos", "true"], 'unexpected argument "true"', "hostnet policy rm"],
    [["policy", "ls"], "missing argument ENDPOINT", "hostnet policy ls"],
    [["policy", "ls", "web1", "--acl", "x"], "unknown option '--acl'", "hostnet policy ls"],
  ])("%j is a usage error: exit 2, one line and a hint, nothing sent", async (argv, message, command) => {
    expect(await cli(...argv)).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `hostnet: ${message}\nRun '${command} --help' for usage.\n`,
    });
    expect(hostnetd.requests).toStrictEqual([]);
  });

  it("prints the help on stderr and exits 2 when run with no arguments", async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^Usage: hostnet \[OPTIONS\] COMMAND\n/);
  });

  it.each([
    [404, { error: { code: "NotFound", message: 'network "web" not found' } }, 'network "web" not found'],
    [
      409,
      { error: { code: "Conflict", message: 'network "web" has 1 endpoint(s)' } },
      'network "web" has 1 endpoint(s)',
    ],
    [
      400,
      {
        error: {
          code: "InvalidArgument",
          message: "Ipams[0].Subnets[0].IpAddressPrefix: overlaps",
          field: "x",
        },
      },
      "Ipams[0].Subnets[0].IpAddressPrefix: overlaps",
    ],
    [500, { error: { code: "Internal", message: "nft failed:\nline 3" } }, "nft failed: line 3"],
  ])("an API error %i exits 1 with one line", async (status, body, message) => {
    hostnetd.on("DELETE", "/networks/web", { status, body });
    expect(await cli("network", "rm", "web")).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `hostnet: ${message}\n`,
    });
  });

  it("an answer that is not the API's error still exits 1 with one line", async () => {
    hostnetd.on("GET", "/plan", { status: 502, raw: "<html>bad gateway</html>" });
    expect(await cli("plan")).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: "hostnet: hostnetd answered 502: <html>bad gateway</html>\n",
    });
  });

  it("says hostnetd is not running when nothing listens at the socket", async () => {
    const missing = join(hostnetd.dir, "missing.sock");
    expect(await runCli(["network", "ls", "--socket", missing])).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `hostnet: hostnetd is not running at ${missing}: connect ENOENT ${missing}\n`,
    });
    const stale = join(hostnetd.dir, "stale.sock");
    writeFileSync(stale, "");
    expect(await runCli(["network", "ls", "--socket", stale])).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `hostnet: hostnetd is not running at ${stale}: connect ECONNREFUSED ${stale}\n`,
    });
  });
});

describe("help", () => {
  const entries = (entry: Entry, path: readonly string[]): [string[], Entry][] => [
    [[...path], entry],
    ...(entry.kind === "group" ? entry.commands.flatMap((c) => entries(c, [...path, c.names[0]])) : []),
  ];

  it.each(entries(commands, []))("%j --help is generated from the table", async (path, entry) => {
    for (const flag of ["--help", "-h"]) {
      const result = await runCli([...path, flag], { HOSTNET_SOCKET: join(hostnetd.dir, "unused.sock") });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(new RegExp(`^Usage: ${["hostnet", ...path].join(" ")} \\[OPTIONS\\]`));
      expect(result.stdout).toContain(entry.help);
      expect(result.stdout).toContain("--socket PATH");
      const listed =
        entry.kind === "group"
          ? entry.commands.map((c) => `  ${c.names.join(", ")} `)
          : Object.keys(entry.options).map((name) => `--${name}`);
      for (const text of listed) expect(result.stdout).toContain(text);
    }
  });

  it("wins over missing arguments and needs no hostnetd", async () => {
    expect(await cli("endpoint", "create", "--help")).toMatchObject({ code: 0, stderr: "" });
    expect(hostnetd.requests).toStrictEqual([]);
  });
});

describe("version", () => {
  it("prints the package's version and commit, at any level, without hostnetd", async () => {
    for (const argv of [["--version"], ["network", "ls", "--version"]])
      expect(await cli(...argv)).toStrictEqual({
        code: 0,
        stdout: `${versionLine("hostnet")}\n`,
        stderr: "",
      });
    expect(versionLine("hostnet")).toMatch(/^hostnet \d+\.\d+\.\d+ \(commit [0-9a-z-]+\)$/);
    expect(hostnetd.requests).toStrictEqual([]);
  });
});

describe("info", () => {
  it("prints both versions, the HNS release and features, the kernel's features, counts by type, etcd and the paths", async () => {
    hostnetd.on("GET", "/info", {
      status: 200,
      body: {
        Version: "0.1.0",
        Commit: "abc",
        Hns: {
          Version: { Major: 10, Minor: 3 },
          Features: { ACL: { AclPortRanges: true, AclRuleId: false }, DSR: true, SetPolicy: false },
        },
        Kernel: { Release: "6.1.0", Features: { bridge: "built-in", vlan: "missing" } },
        Networks: { NAT: 2, Overlay: 1 },
        Endpoints: {},
        Etcd: { State: "off", Endpoints: [] },
        Socket: "/run/hostnet/hostnet.sock",
        Store: "/var/lib/hostnet/hostnet.db",
      },
    });
    const result = await cli("info");
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n")).toStrictEqual([
      `Client:     ${versionLine("hostnet")}`,
      "Server:     hostnetd 0.1.0 (commit abc)",
      "HNS:        10.3",
      "  has:      ACL.AclPortRanges, DSR",
      "  lacks:    ACL.AclRuleId, SetPolicy",
      "Kernel:     6.1.0",
      "  bridge:   built-in",
      "  vlan:     missing",
      "Networks:   NAT 2, Overlay 1",
      "Endpoints:  none",
      "Etcd:       off (no --etcd)",
      "Socket:     /run/hostnet/hostnet.sock",
      "Store:      /var/lib/hostnet/hostnet.db",
      "",
    ]);
  });
});
