/** DNS settings as doors hand them in: checked, normalised, and refused naming the element at fault. */
import { describe, expect, it } from "vitest";
import { checkAliases, checkDns, dnsLimits, effectiveDns } from "../../../src/dns/settings.js";
import { noDns } from "../../../src/model/types.js";

const list = (field: string, value: readonly string[]) => ({ field, value });

describe("checkDns", () => {
  it("is noDns when the door gives none", () => {
    expect(checkDns(undefined)).toEqual(noDns);
  });

  it("keeps names in lower case without a final dot, servers canonical, and each element once", () => {
    expect(
      checkDns({
        domain: { field: "Dns.Domain", value: "Lab.Test." },
        search: list("Dns.Search", ["Lab.Test", "lab.test.", "_svc.corp"]),
        servers: list("Dns.ServerList", ["2001:DB8:0::53", "192.0.2.53", "192.0.2.53"]),
        options: list("Dns.Options", ["ndots:2", "rotate", "edns0"]),
      }),
    ).toEqual({
      domain: "lab.test",
      search: ["lab.test", "_svc.corp"],
      servers: ["2001:db8::53", "192.0.2.53"],
      options: ["ndots:2", "rotate", "edns0"],
    });
  });

  it.each([
    [{ servers: list("Dns.ServerList", ["192.0.2.1", "10.0.0.300"]) }, "Dns.ServerList[1]"],
    [{ servers: list("Dns.ServerList", ["dns.example"]) }, "Dns.ServerList[0]"],
    [{ search: list("Dns.Search", ["no..dots"]) }, "Dns.Search[0]"],
    [{ search: list("Dns.Search", ["ok", "bad name"]) }, "Dns.Search[1]"],
    [{ search: list("Dns.Search", [`${"a".repeat(64)}.test`]) }, "Dns.Search[0]"],
    [{ search: list("Dns.Search", ["-lead.test"]) }, "Dns.Search[0]"],
    [{ domain: { field: "Dns.Domain", value: "" } }, "Dns.Domain"],
    [{ domain: { field: "Dns.Domain", value: `${"a.".repeat(127)}ab` } }, "Dns.Domain"],
    [{ options: list("Dns.Options", ["ndots 2"]) }, "Dns.Options[0]"],
    [{ options: list("Dns.Options", ["ndots:1234"]) }, "Dns.Options[0]"],
  ])("refuses %j naming %s", (spec, field) => {
    expect(() => checkDns(spec)).toThrow(
      expect.objectContaining({ code: "InvalidArgument", detail: { field } }),
    );
  });

  it("refuses more servers and search domains than resolv.conf readers take, naming the list", () => {
    const servers = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"];
    expect(servers.length).toBeGreaterThan(dnsLimits.servers);
    expect(() => checkDns({ servers: list("Dns.ServerList", servers) })).toThrow(
      expect.objectContaining({ detail: { field: "Dns.ServerList" } }),
    );
    const search = Array.from({ length: dnsLimits.search + 1 }, (_, i) => `d${String(i)}.test`);
    expect(() => checkDns({ search: list("Dns.Search", search) })).toThrow(
      expect.objectContaining({ detail: { field: "Dns.Search" } }),
    );
  });
});

describe("checkAliases", () => {
  it("keeps aliases in lower case, once, without the endpoint's own name", () => {
    expect(checkAliases(list("Aliases", ["DB", "db", "Web", "cache.lab"]), "web")).toEqual([
      "db",
      "cache.lab",
    ]);
    expect(checkAliases(undefined, "web")).toEqual([]);
  });

  it("refuses an alias that is not a domain name, naming it", () => {
    expect(() => checkAliases(list("Aliases", ["ok", "not ok"]), "web")).toThrow(
      expect.objectContaining({ detail: { field: "Aliases[1]" } }),
    );
  });
});

describe("effectiveDns", () => {
  const network = { domain: "net.test", search: ["net.test"], servers: ["192.0.2.53"], options: ["ndots:1"] };

  it("is the network's where the endpoint says nothing", () => {
    expect(effectiveDns(noDns, network)).toEqual(network);
  });

  it("takes each part the endpoint gives in place of the network's, part by part", () => {
    expect(effectiveDns({ ...noDns, servers: ["198.51.100.1"], domain: "ep.test" }, network)).toEqual({
      domain: "ep.test",
      search: ["net.test"],
      servers: ["198.51.100.1"],
      options: ["ndots:1"],
    });
    expect(effectiveDns({ ...noDns, search: ["a.test"], options: ["rotate"] }, network)).toEqual({
      ...network,
      search: ["a.test"],
      options: ["rotate"],
    });
  });
});
