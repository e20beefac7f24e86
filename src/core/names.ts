/**
 * The names hostnet's resolver answers, read from the store as each query comes: an endpoint's name (in any
 * case) or alias on its network, and the name of an address. Another host's endpoint of an overlay network
 * has the names its host published (overlay-peers.ts) as aliases, the first its name.
 */
import type { NameBook } from "../dns/answer.js";
import type { Endpoint } from "../model/types.js";
import type { Store } from "../store/store.js";

/** What other hosts' resolvers answer for one of this host's endpoints: its name, then its aliases. */
export const publishedNames = (ep: Endpoint): string[] => [ep.name.toLowerCase(), ...ep.aliases];

export function storeNameBook(store: Store): NameBook {
  return {
    network: (id) => store.networks.find(id),
    addresses(networkId, name) {
      const id = store.endpoints.withDnsName(networkId, name);
      return id === undefined ? undefined : store.endpoints.addressesOf(id);
    },
    nameOf(networkId, address) {
      const subnet = store.networks
        .find(networkId)
        ?.subnets.find((s) => s.family === (address.includes(":") ? 6 : 4));
      const ep = subnet === undefined ? undefined : store.endpoints.withAddress(subnet.id, address);
      return ep?.remoteHost === null ? ep.name : ep?.aliases[0];
    },
  };
}
