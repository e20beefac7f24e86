/**
 * The names hostnet's resolver answers, read from the store as each query comes: an endpoint's name (in any
 * case) or alias on its network, and the name of an address.
 */
import type { NameBook } from "../dns/answer.js";
import type { Store } from "../store/store.js";

export function storeNameBook(store: Store): NameBook {
  return {
    network: (id) => store.networks.find(id),
    addresses(networkId, name) {
      const id = store.endpoints.withDnsName(networkId, name);
      return id === undefined ? undefined : (store.endpoints.find(id)?.addresses.map((a) => a.address) ?? []);
    },
    nameOf(networkId, address) {
      const subnet = store.networks
        .find(networkId)
        ?.subnets.find((s) => s.family === (address.includes(":") ? 6 : 4));
      return subnet === undefined ? undefined : store.endpoints.withAddress(subnet.id, address)?.name;
    },
  };
}
