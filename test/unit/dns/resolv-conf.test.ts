/** The resolv.conf hostnet writes for a namespace, from its endpoints' settings over their networks'. */
import { describe, expect, it } from "vitest";
import { nameserversOf, resolvConfText, writesResolvConf } from "../../../src/dns/resolv-conf.js";
import { noDns, type Network } from "../../../src/model/types.js";
import { adopted, dualNet, endpointOf, ns, v4Net } from "../modes/samples.js";

const withoutResolver = (net: Network, dns = noDns): Network => ({ ...net, resolver: false, dns });
const upstream = { ...noDns, servers: ["192.0.2.53"] };

describe("writesResolvConf", () => {
  it("is for namespaces under /run/netns by their name, not for a runtime's", () => {
    expect(writesResolvConf(ns)).toBe(true);
    expect(writesResolvConf(adopted)).toBe(false);
    expect(writesResolvConf({ ...ns, path: "/run/netns/other-name" })).toBe(false);
  });
});

describe("nameserversOf", () => {
  it("is the network's gateways, IPv4 first, with its resolver on", () => {
    const v6First: Network = { ...dualNet, subnets: [...dualNet.subnets].reverse() };
    expect(nameserversOf(endpointOf(v6First), v6First)).toEqual(["10.88.0.1", "fd88::1"]);
  });

  it("is the network's ServerList with the resolver off", () => {
    const net = withoutResolver(v4Net, upstream);
    expect(nameserversOf(endpointOf(net), net)).toEqual(["192.0.2.53"]);
  });

  it("is the endpoint's own ServerList whatever its network has", () => {
    const ep = { ...endpointOf(dualNet), dns: { ...noDns, servers: ["198.51.100.1"] } };
    expect(nameserversOf(ep, dualNet)).toEqual(["198.51.100.1"]);
  });
});

describe("resolvConfText", () => {
  it("names the resolver, the search list (or the domain) and the options", () => {
    const net = { ...v4Net, dns: { ...noDns, domain: "lab.test", options: ["ndots:1"] } };
    expect(resolvConfText([{ endpoint: endpointOf(net), network: net }])).toBe(
      "nameserver 172.20.0.254\nsearch lab.test\noptions ndots:1\n",
    );
    const searching = { ...net, dns: { ...net.dns, search: ["a.test", "b.test"] } };
    expect(resolvConfText([{ endpoint: endpointOf(searching), network: searching }])).toBe(
      "nameserver 172.20.0.254\nsearch a.test b.test\noptions ndots:1\n",
    );
  });

  it("is no file when the settings say nothing", () => {
    const net = withoutResolver(v4Net);
    expect(resolvConfText([{ endpoint: endpointOf(net), network: net }])).toBeUndefined();
    expect(resolvConfText([])).toBeUndefined();
  });

  it("merges the endpoints of a multi-homed namespace, each once, at most three nameservers", () => {
    const other = withoutResolver(v4Net, {
      ...noDns,
      servers: ["192.0.2.53", "192.0.2.54"],
      search: ["x.test"],
    });
    const ep = { ...endpointOf(dualNet), dns: { ...noDns, search: ["x.test"] } };
    expect(
      resolvConfText([
        { endpoint: ep, network: dualNet },
        { endpoint: endpointOf(other), network: other },
        { endpoint: endpointOf(other), network: other },
      ]),
    ).toBe("nameserver 10.88.0.1\nnameserver fd88::1\nnameserver 192.0.2.53\nsearch x.test\n");
  });
});
