/**
 * Docker's remote IPAM driver, `/IpamDriver.*`: each call translated to hostnet's Docker pools
 * (src/ipam/docker-pools.ts), which keep the pools and their addresses in the store.
 */
import type { DockerPools } from "../../ipam/docker-pools.js";
import { str, type Method } from "./wire.js";

const LOCAL_ADDRESS_SPACE = "hostnet-local";
const GLOBAL_ADDRESS_SPACE = "hostnet-global";

export function ipamMethods(pools: DockerPools): Record<string, Method> {
  return {
    GetCapabilities: () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    GetDefaultAddressSpaces: () => ({
      LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE,
      GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE,
    }),
    RequestPool: async (b) => {
      const pool = await pools.requestPool({
        addressSpace: str(b, "AddressSpace"),
        pool: str(b, "Pool"),
        subPool: str(b, "SubPool"),
        v6: b["V6"] === true,
      });
      return { PoolID: pool.id, Pool: pool.pool, Data: {} };
    },
    ReleasePool: (b) => {
      pools.releasePool(str(b, "PoolID"));
      return {};
    },
    RequestAddress: (b) => ({ Address: pools.requestAddress(str(b, "PoolID"), str(b, "Address")), Data: {} }),
    ReleaseAddress: (b) => {
      pools.releaseAddress(str(b, "PoolID"), str(b, "Address"));
      return {};
    },
  };
}
