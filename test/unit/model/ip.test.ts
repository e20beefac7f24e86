import { describe, expect, it } from "vitest";
import {
  cidrOf,
  contains,
  hostRange,
  ipFromValue,
  overlaps,
  parseIp,
  parsePrefix,
} from "../../../src/model/ip.js";
import { thrown } from "../harness.js";

describe("parsePrefix", () => {
  it.each([
    ["10.1.2.3/8", "10.0.0.0/8", 4],
    ["172.17.0.0/16", "172.17.0.0/16", 4],
    ["192.168.1.77/24", "192.168.1.0/24", 4],
    ["0.0.0.0/0", "0.0.0.0/0", 4],
    ["10.0.0.5/32", "10.0.0.5/32", 4],
    ["FD00:0:0::1/64", "fd00::/64", 6],
    ["2001:0db8:0000:0000:0000:0000:0000:0001/48", "2001:db8::/48", 6],
    ["::/0", "::/0", 6],
    ["fd00::1/128", "fd00::1/128", 6],
  ])("%s is canonical as %s (IPv%d)", (text, canonical, family) => {
    const p = parsePrefix("f", text);
    expect(cidrOf(p)).toBe(canonical);
    expect(p.family).toBe(family);
  });

  it("computes the first and last address", () => {
    const p = parsePrefix("f", "10.0.0.77/29");
    expect(ipFromValue(4, p.first)).toBe("10.0.0.72");
    expect(ipFromValue(4, p.last)).toBe("10.0.0.79");
    const q = parsePrefix("f", "fd00::/64");
    expect(q.last - q.first).toBe((1n << 64n) - 1n);
  });

  it.each([
    ["10.0.0.0", "missing /length"],
    ["10.0.0.0/33", "not a valid CIDR prefix"],
    ["10.0.0.256/24", "not a valid CIDR prefix"],
    ["10.0.0/24", "not a valid CIDR prefix"],
    ["fd00::/129", "not a valid CIDR prefix"],
    ["nonsense/8", "not a valid CIDR prefix"],
    ["", "missing /length"],
    [" 10.0.0.0/8", "not a valid CIDR prefix"],
  ])("rejects %j (%s) naming the field", (text, message) => {
    const err = thrown(() => parsePrefix("Ipams[0].Subnets[0].IpAddressPrefix", text));
    expect(err.code).toBe("InvalidArgument");
    expect(err.detail.field).toBe("Ipams[0].Subnets[0].IpAddressPrefix");
    expect(err.message).toContain(message);
  });
});

describe("parseIp", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1", 4],
    ["FD00::0:1", "fd00::1", 6],
    ["2001:db8:0:0:0:0:0:1", "2001:db8::1", 6],
    ["::1", "::1", 6],
  ])("%s is %s (IPv%d)", (text, address, family) => {
    const ip = parseIp("f", text);
    expect(ip.address).toBe(address);
    expect(ip.family).toBe(family);
  });

  it("gives the numeric value", () => {
    expect(parseIp("f", "0.0.1.2").value).toBe(258n);
    expect(parseIp("f", "::ff").value).toBe(255n);
  });

  it.each(["10.0.0.1/24", "fd00::1/64", "10.0.0", "300.1.1.1", "abc", "", "1.2.3.4.5"])(
    "rejects %j",
    (text) => {
      const err = thrown(() => parseIp("IpConfigurations[0].IpAddress", text));
      expect(err.code).toBe("InvalidArgument");
      expect(err.detail.field).toBe("IpConfigurations[0].IpAddress");
    },
  );
});

describe("ipFromValue", () => {
  it("round-trips with parseIp for both families", () => {
    for (const text of [
      "0.0.0.0",
      "10.20.30.40",
      "255.255.255.255",
      "::",
      "fd00::abcd",
      "2001:db8::1:0:0:1",
    ]) {
      const ip = parseIp("f", text);
      expect(ipFromValue(ip.family, ip.value)).toBe(ip.address);
    }
  });
});

describe("contains and overlaps", () => {
  const net = parsePrefix("f", "10.0.0.0/24");
  it("contains the addresses of the prefix, edges included", () => {
    expect(contains(net, parseIp("f", "10.0.0.0"))).toBe(true);
    expect(contains(net, parseIp("f", "10.0.0.255"))).toBe(true);
    expect(contains(net, parseIp("f", "10.0.1.0"))).toBe(false);
    expect(contains(net, parseIp("f", "9.255.255.255"))).toBe(false);
  });

  it("never mixes families", () => {
    expect(contains(parsePrefix("f", "::/0"), parseIp("f", "10.0.0.1"))).toBe(false);
    expect(contains(parsePrefix("f", "0.0.0.0/0"), parseIp("f", "::a00:1"))).toBe(false);
    expect(overlaps(parsePrefix("f", "::/0"), parsePrefix("f", "0.0.0.0/0"))).toBe(false);
  });

  it.each([
    ["10.0.0.0/24", "10.0.0.128/25", true],
    ["10.0.0.0/8", "10.255.0.0/16", true],
    ["10.0.0.0/24", "10.0.1.0/24", false],
    ["10.0.0.0/25", "10.0.0.128/25", false],
    ["172.16.0.0/12", "172.31.255.0/24", true],
    ["fd00::/64", "fd00::/48", true],
    ["fd00::/64", "fd00:0:0:1::/64", false],
  ])("%s and %s overlap: %s", (a, b, expected) => {
    expect(overlaps(parsePrefix("f", a), parsePrefix("f", b))).toBe(expected);
    expect(overlaps(parsePrefix("f", b), parsePrefix("f", a))).toBe(expected);
  });
});

describe("hostRange", () => {
  const range = (cidr: string): [string, string] => {
    const p = parsePrefix("f", cidr);
    const r = hostRange(p);
    return [ipFromValue(p.family, r.first), ipFromValue(p.family, r.last)];
  };

  it.each([
    ["10.0.0.0/24", "10.0.0.1", "10.0.0.254"],
    ["10.0.0.8/29", "10.0.0.9", "10.0.0.14"],
    ["10.0.0.4/30", "10.0.0.5", "10.0.0.6"],
    ["10.0.0.4/31", "10.0.0.4", "10.0.0.5"],
    ["10.0.0.4/32", "10.0.0.4", "10.0.0.4"],
    ["fd00::/64", "fd00::1", "fd00::ffff:ffff:ffff:ffff"],
    ["fd00::/127", "fd00::", "fd00::1"],
    ["fd00::5/128", "fd00::5", "fd00::5"],
  ])("%s hosts are %s to %s", (cidr, first, last) => {
    expect(range(cidr)).toEqual([first, last]);
  });
});
