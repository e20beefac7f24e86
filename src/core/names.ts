/**
 * The names hostnet's resolver answers, from the store: an endpoint's name (in any
 * case) or alias on its network, and the name of an address. Another host's endpoint of an overlay network
 * has the names its host published (overlay-peers.ts) as aliases, the first its name.
 */
import type { NameBook } from "../dns/answer.js";
import type { Endpoint } from "../model/types.js";
import type { Store } from "../store/store.js";

/** What other hosts' resolvers answer for one of this host's endpoints: its name, then its aliases. */
export const publishedNames = (ep: Endpoint): string[] => [ep.name.toLowerCase(), ...ep.aliases];

/** How many answers the book keeps between two writes: names asked at random must not fill the heap. */
const REMEMBERED = 65_536;

/**
 * The store's names for the resolver, which asks for them at every query: what it read is kept until the
 * store's next write of any kind, so a name is gone the moment its endpoint's delete lands.
 */
export function storeNameBook(store: Store): NameBook {
  let readAt = -1;
  const kept = new Map<string, unknown>();
  function remembered<T>(key: string, read: () => T): T {
    const now = store.version();
    if (now !== readAt || kept.size >= REMEMBERED) {
      kept.clear();
      readAt = now;
    }
    if (kept.has(key)) return kept.get(key) as T;
    const value = read();
    kept.set(key, value);
    return value;
  }
  return {
    version: () => store.version(),
    network: (id) => remembered(`n ${id}`, () => store.networks.find(id)),
    addresses: (networkId, name) =>
      remembered(`a ${networkId} ${name}`, () => {
        const id = store.endpoints.withDnsName(networkId, name);
        return id === undefined ? undefined : store.endpoints.addressesOf(id);
      }),
    nameOf: (networkId, address) =>
      remembered(`p ${networkId} ${address}`, () => {
        const subnet = store.networks
          .find(networkId)
          ?.subnets.find((s) => s.family === (address.includes(":") ? 6 : 4));
        const ep = subnet === undefined ? undefined : store.endpoints.withAddress(subnet.id, address);
        return ep?.remoteHost === null ? ep.name : ep?.aliases[0];
      }),
  };
}
