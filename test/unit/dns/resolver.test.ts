/**
 * The resolver's record of listeners that could not bind: kept while their network is, gone with it (the
 * reconciler never closes a listener it did not observe open, so nothing else would drop them).
 */
import { describe, expect, it } from "vitest";
import type { NameBook } from "../../../src/dns/answer.js";
import { Resolver } from "../../../src/dns/resolver.js";
import type { Network } from "../../../src/model/types.js";
import { v4Net } from "../modes/samples.js";

/** TEST-NET-3: an address no interface of this machine has, so binding it fails (EADDRNOTAVAIL or EACCES). */
const NOT_LOCAL = "203.0.113.53";

describe("a listener that could not bind", () => {
  it("is unbound while its network is there, and dropped once the network is gone", async () => {
    const networks = new Map<string, Network>([[v4Net.id, v4Net]]);
    const book: NameBook = {
      version: () => 0,
      network: (id) => networks.get(id),
      addresses: () => undefined,
      nameOf: () => undefined,
    };
    const resolver = new Resolver(book);
    await resolver.open({ address: NOT_LOCAL, owner: `net:${v4Net.id}` });
    expect(resolver.list()).toEqual([]);
    const [failure, ...more] = resolver.unbound();
    expect(more).toEqual([]);
    expect(failure?.spec).toEqual({ address: NOT_LOCAL, owner: `net:${v4Net.id}` });
    expect(failure?.why).toContain(NOT_LOCAL);
    networks.delete(v4Net.id);
    expect(resolver.unbound()).toEqual([]);
  });
});
