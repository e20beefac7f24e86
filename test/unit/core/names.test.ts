import { beforeEach, describe, expect, it } from "vitest";
import { storeNameBook } from "../../../src/core/names.js";
import type { Network } from "../../../src/model/types.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, networkAndNamespace } from "./requests.js";

const h = freshHarnessPerTest();

describe("the resolver's name book", () => {
  let net: Network;
  beforeEach(async () => {
    ({ net } = await networkAndNamespace(h));
  });

  it("answers from what it read until the store's next write, and never after it", async () => {
    const book = storeNameBook(h.store);
    expect(book.addresses(net.id, "web")).toBeUndefined();
    const ep = await h.service.createEndpoint(
      epSpec("web", "n1", { aliases: { value: ["www"], field: "aliases" } }),
    );
    const addresses = ep.addresses.map((a) => a.address);
    expect(book.addresses(net.id, "web")).toEqual(addresses);
    expect(book.addresses(net.id, "www")).toEqual(addresses);
    expect(book.nameOf(net.id, addresses[0] ?? "")).toBe("web");
    expect(book.network(net.id)?.name).toBe("n1");
    await h.service.deleteEndpoint("web");
    expect(book.addresses(net.id, "web")).toBeUndefined();
    expect(book.addresses(net.id, "www")).toBeUndefined();
    expect(book.nameOf(net.id, addresses[0] ?? "")).toBeUndefined();
    await h.service.deleteNetwork("n1");
    expect(book.network(net.id)).toBeUndefined();
  });

  it("has a version that reads leave as it is and every write changes", async () => {
    const book = storeNameBook(h.store);
    const before = book.version();
    expect(book.network(net.id)?.name).toBe("n1");
    expect(book.addresses(net.id, "web")).toBeUndefined();
    expect(book.version()).toBe(before);
    await h.service.createEndpoint(epSpec("web", "n1"));
    const created = book.version();
    expect(created).not.toBe(before);
    await h.service.deleteEndpoint("web");
    expect(book.version()).not.toBe(created);
  });
});
