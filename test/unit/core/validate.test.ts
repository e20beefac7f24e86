import { describe, expect, it } from "vitest";
import { checkIfname, checkMac, checkMtu, checkName, checkPort } from "../../../src/core/validate.js";
import { HostnetError } from "../../../src/errors.js";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HostnetError && err.code === "InvalidArgument") return err.detail.field;
    throw err;
  }
  return undefined;
}

describe("checkName", () => {
  it.each(["n", "nat", "my-net_1.2", "0abc", "a".repeat(128)])("accepts %j", (name) => {
    expect(checkName("Name", name)).toBe(name);
  });
  it.each(["", "-a", ".a", "_a", "a b", "a/b", "a".repeat(129), "ä", "a\n"])("rejects %j", (name) => {
    expect(fieldOf(() => checkName("Name", name))).toBe("Name");
  });
});

describe("checkIfname", () => {
  it.each(["eth0", "a", "net1.100", "veth_x-1", "a".repeat(15)])("accepts %j", (name) => {
    expect(checkIfname("InterfaceName", name)).toBe(name);
  });
  it.each(["", ".", "..", "a".repeat(16), "a/b", "a b", "a:b", "ä"])("rejects %j", (name) => {
    expect(fieldOf(() => checkIfname("InterfaceName", name))).toBe("InterfaceName");
  });
});

describe("checkMac", () => {
  it("accepts a unicast MAC and lower-cases it", () => {
    expect(checkMac("MacAddress", "02:AB:cd:EF:00:01")).toBe("02:ab:cd:ef:00:01");
    expect(checkMac("MacAddress", "00:11:22:33:44:55")).toBe("00:11:22:33:44:55");
  });
  it.each([
    "02:00:00:00:00",
    "02:00:00:00:00:00:00",
    "02-00-00-00-00-01",
    "0200.0000.0001",
    "zz:00:00:00:00:01",
    "01:00:5e:00:00:01",
    "ff:ff:ff:ff:ff:ff",
    "03:00:00:00:00:01",
    "00:00:00:00:00:00",
    "",
  ])("rejects %j", (mac) => {
    expect(fieldOf(() => checkMac("MacAddress", mac))).toBe("MacAddress");
  });
});

describe("checkPort and checkMtu", () => {
  it.each([1, 80, 65535])("accepts port %d", (p) => {
    expect(checkPort("P", p)).toBe(p);
  });
  it.each([0, -1, 65536, 70000, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects port %d", (p) => {
    expect(fieldOf(() => checkPort("P", p))).toBe("P");
  });
  it.each([1280, 1500, 9000, 65535])("accepts MTU %d", (m) => {
    expect(checkMtu("Mtu", m)).toBe(m);
  });
  it.each([0, 576, 1279, 65536, 1500.5])("rejects MTU %d", (m) => {
    expect(fieldOf(() => checkMtu("Mtu", m))).toBe("Mtu");
  });
});
