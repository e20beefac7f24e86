import { describe, expect, it } from "vitest";
import {
  aclCounterKey,
  aclLabel,
  aliasOf,
  bridgeName,
  elementComment,
  handoffVethName,
  hostVethName,
  ifbName,
  isOwnedLinkName,
  namespaceAlias,
  namespaceMark,
  ownerFromAlias,
  parseElementComment,
  shortIdOfLink,
  versionChain,
  versionOfChain,
  vxlanName,
  type Owner,
} from "../../../src/dataplane/naming.js";
import { acl } from "../../../src/policies/acl.js";
import { aclObjects } from "../../../src/policies/acl-elements.js";
import { dualNet, endpointOf } from "../modes/samples.js";

const ID = "bbbb2222-0000-4000-8000-000000000002";
const owners: Owner[] = [`net:${ID}`, `ep:${ID}`, `ns:${ID}`, `lb:${ID}`];

describe("kernel names, made and read back", () => {
  it("reads the short id back from the name of every link hostnet owns", () => {
    for (const name of [bridgeName, hostVethName, ifbName, vxlanName]) {
      expect(shortIdOfLink(name("bbbb2222"))).toBe("bbbb2222");
      expect(isOwnedLinkName(name("bbbb2222"))).toBe(true);
    }
  });

  it("owns no other link by its name, not even a handed-off container end", () => {
    for (const name of [handoffVethName("bbbb2222"), "eth0", "docker0", "hn-bbbb2222", "vethbbbb2222"]) {
      expect(shortIdOfLink(name)).toBeUndefined();
      expect(isOwnedLinkName(name)).toBe(false);
    }
  });

  it("reads every owner back from its alias", () => {
    for (const owner of owners) expect(ownerFromAlias(aliasOf(owner))).toBe(owner);
  });

  it("reads no owner from an alias that is not hostnet's", () => {
    for (const alias of [
      undefined,
      "",
      "uplink to the LAN",
      `hostnet:vm:${ID}`,
      `hostnet:ep:${ID.slice(1)}`,
      `hostnet:ep:${ID} extra`,
      `hostnet:ns:${ID}@0123abcd`,
      `other:ep:${ID}`,
      "hostnet:global",
    ])
      expect(ownerFromAlias(alias)).toBeUndefined();
  });

  it("reads a namespace's owner and instance back from its lo's alias", () => {
    expect(namespaceMark(namespaceAlias(`ns:${ID}`, "0123abcd"))).toEqual({
      owner: `ns:${ID}`,
      instance: "0123abcd",
    });
    // Made before hostnet marked its instance.
    expect(namespaceMark(aliasOf(`ns:${ID}`))).toEqual({ owner: `ns:${ID}` });
  });

  it("reads no namespace mark from another alias", () => {
    for (const alias of [
      undefined,
      namespaceAlias(`ep:${ID}`, "0123abcd"),
      aliasOf(`net:${ID}`),
      `hostnet:ns:${ID}@not-hex`,
      `hostnet:ns:${ID}@`,
    ])
      expect(namespaceMark(alias)).toBeUndefined();
  });

  it("reads the version back from the version chain's name", () => {
    expect(versionOfChain(versionChain("0f0932f2b18b"))).toBe("0f0932f2b18b");
    for (const chain of ["forward", "acl_in4", "portmap"]) expect(versionOfChain(chain)).toBeUndefined();
  });
});

describe("element comments", () => {
  it("read back the owner alone, for every owner", () => {
    for (const owner of owners) expect(parseElementComment(elementComment(owner))).toEqual({ owner });
  });

  it("read back the owner and the label", () => {
    for (const label of [aclLabel("endpoint", 2), aclLabel("network", 0)])
      expect(parseElementComment(elementComment(`ep:${ID}`, label))).toEqual({ owner: `ep:${ID}`, label });
  });

  it("are not hostnet's without an owner that names a record", () => {
    for (const comment of [undefined, "", "global", "orphan", `vm:${ID}`, `ep:${ID.slice(1)}`, `ep:${ID}x`])
      expect(parseElementComment(comment)).toBeUndefined();
  });
});

describe("ACL labels and counter keys", () => {
  it("labels an ACL by its place in the endpoint's or the network's list", () => {
    expect(aclLabel("endpoint", 2)).toBe("acl 2");
    expect(aclLabel("network", 0)).toBe("network acl 0");
  });

  it("finds an endpoint's ACL counters under the comment its elements carry", () => {
    expect(parseElementComment(aclCounterKey(ID, 1))).toEqual({ owner: `ep:${ID}`, label: "acl 1" });
    const rule = (priority: number) =>
      acl.parse("Policies[0].Settings", {
        Action: "Allow",
        Direction: "In",
        Protocols: "6",
        Priority: priority,
      });
    const ep = { ...endpointOf(dualNet), policies: [rule(100), rule(200)] };
    const comments = aclObjects(ep, { ...dualNet, policies: [rule(300)] }).flatMap((o) =>
      o.kind === "nftElement" && o.label !== undefined ? [elementComment(o.owner, o.label)] : [],
    );
    expect(new Set(comments)).toEqual(
      new Set([
        aclCounterKey(ep.id, 0),
        aclCounterKey(ep.id, 1),
        elementComment(`ep:${ep.id}`, "network acl 0"),
      ]),
    );
  });
});
