/**
 * Docker's remote IPAM driver: address pools and the addresses handed out of them. Docker keeps none of
 * this for a remote driver ("it is the remote driver's responsibility to manage its database"), so pools
 * and addresses live in hostnet's store and survive restarts. Independent of hostnet's networks: the
 * driver also serves networks of other Docker drivers (`--ipam-driver hostnet`).
 */
import { conflict, HostnetError, invalidArgument, notFound } from "../../errors.js";
import {
  cidrOf,
  contains,
  hostRange,
  ipFromValue,
  overlaps,
  parseIp,
  parsePrefix,
  type Prefix,
} from "../../model/ip.js";
import type { Store } from "../../store/store.js";

export const LOCAL_ADDRESS_SPACE = "hostnet-local";
export const GLOBAL_ADDRESS_SPACE = "hostnet-global";

export interface PoolRequest {
  readonly addressSpace: string;
  readonly pool: string;
  readonly subPool: string;
  readonly v6: boolean;
}

interface PoolRow {
  id: string;
  address_space: string;
  pool: string;
  sub_pool: string;
  refs: number;
}

/** A free prefix of a family, avoiding `taken` and everything the host and hostnet's networks use. */
export type FreePrefix = (family: 4 | 6, taken: readonly Prefix[], field: string) => Promise<Prefix>;

export class DockerIpam {
  constructor(
    private readonly store: Store,
    private readonly freePrefix: FreePrefix,
  ) {}

  /** Identical requests share one pool, counted; an empty Pool means any free one. */
  async requestPool(req: PoolRequest): Promise<{ id: string; pool: string }> {
    if (req.pool === "" && req.subPool !== "")
      throw invalidArgument("SubPool", "a SubPool needs a Pool to be inside of");
    if (req.pool === "") {
      const taken = this.pools().map((p) => parsePrefix("pool", p.pool));
      const prefix = await this.freePrefix(req.v6 ? 6 : 4, taken, "Pool");
      return this.store.write(() => this.insertPool(req.addressSpace, cidrOf(prefix), ""));
    }
    const pool = parsePrefix("Pool", req.pool);
    if (pool.family !== (req.v6 ? 6 : 4))
      throw invalidArgument(
        "Pool",
        `${req.pool} is not an IPv${req.v6 ? 6 : 4} prefix (V6 is ${String(req.v6)})`,
      );
    let subPool = "";
    if (req.subPool !== "") {
      const sub = parsePrefix("SubPool", req.subPool);
      if (!overlaps(sub, pool) || sub.first < pool.first || sub.last > pool.last)
        throw invalidArgument("SubPool", `${req.subPool} is not inside ${cidrOf(pool)}`);
      subPool = cidrOf(sub);
    }
    const id = poolId(req.addressSpace, cidrOf(pool), subPool);
    return this.store.write(() => {
      const same = this.pool(id);
      if (same !== undefined) {
        this.store.prepare("UPDATE docker_ipam_pools SET refs = refs + 1 WHERE id = ?").run(id);
        return { id, pool: same.pool };
      }
      for (const other of this.pools())
        if (other.address_space === req.addressSpace && overlaps(parsePrefix("pool", other.pool), pool))
          throw conflict(`Pool: ${cidrOf(pool)} overlaps pool ${other.pool} in ${req.addressSpace}`, "Pool");
      return this.insertPool(req.addressSpace, cidrOf(pool), subPool);
    });
  }

  releasePool(id: string): void {
    this.store.write(() => {
      const pool = this.mustPool(id);
      if (pool.refs > 1)
        this.store.prepare("UPDATE docker_ipam_pools SET refs = refs - 1 WHERE id = ?").run(id);
      else this.store.prepare("DELETE FROM docker_ipam_pools WHERE id = ?").run(id);
    });
  }

  /** Reserves `address` ("" for the lowest free one) and answers it with the pool's prefix length. */
  requestAddress(id: string, address: string): string {
    return this.store.write(() => {
      const pool = this.mustPool(id);
      const prefix = parsePrefix("pool", pool.pool);
      const range = allocatable(
        prefix,
        pool.sub_pool === "" ? undefined : parsePrefix("pool", pool.sub_pool),
      );
      const taken = new Set(
        this.store
          .prepare<[string], { address: string }>(
            "SELECT address FROM docker_ipam_addresses WHERE pool_id = ?",
          )
          .all(id)
          .map((r) => r.address),
      );
      let chosen: string | undefined;
      if (address !== "") {
        const ip = parseIp("Address", address.split("/")[0] ?? "");
        if (!contains(prefix, ip) || ip.value < range.first || ip.value > range.last)
          throw invalidArgument(
            "Address",
            `${ip.address} is not a host address of ${pool.sub_pool || pool.pool}`,
          );
        if (taken.has(ip.address)) throw conflict(`Address: ${ip.address} is already allocated`, "Address");
        chosen = ip.address;
      } else {
        for (let v = range.first; v <= range.last && chosen === undefined; v++) {
          const candidate = ipFromValue(prefix.family, v);
          if (!taken.has(candidate)) chosen = candidate;
        }
        if (chosen === undefined)
          throw new HostnetError("Conflict", `pool ${pool.sub_pool || pool.pool} has no free address`);
      }
      this.store
        .prepare("INSERT INTO docker_ipam_addresses (pool_id, address) VALUES (?, ?)")
        .run(id, chosen);
      return `${chosen}/${prefix.length}`;
    });
  }

  /** Releasing an address that is not allocated changes nothing: Docker releases again when it rolls back. */
  releaseAddress(id: string, address: string): void {
    this.store.write(() => {
      this.mustPool(id);
      const ip = parseIp("Address", address.split("/")[0] ?? "");
      this.store
        .prepare("DELETE FROM docker_ipam_addresses WHERE pool_id = ? AND address = ?")
        .run(id, ip.address);
    });
  }

  private pools(): PoolRow[] {
    return this.store.prepare<[], PoolRow>("SELECT * FROM docker_ipam_pools").all();
  }

  private pool(id: string): PoolRow | undefined {
    return this.store.prepare<[string], PoolRow>("SELECT * FROM docker_ipam_pools WHERE id = ?").get(id);
  }

  private mustPool(id: string): PoolRow {
    const pool = this.pool(id);
    if (pool === undefined) throw notFound("pool", id);
    return pool;
  }

  private insertPool(addressSpace: string, pool: string, subPool: string): { id: string; pool: string } {
    const id = poolId(addressSpace, pool, subPool);
    this.store
      .prepare(
        "INSERT INTO docker_ipam_pools (id, address_space, pool, sub_pool, refs) VALUES (?, ?, ?, ?, 1)",
      )
      .run(id, addressSpace, pool, subPool);
    return { id, pool };
  }
}

/** Host addresses of the pool, within the sub-pool if there is one. */
function allocatable(pool: Prefix, subPool: Prefix | undefined): { first: bigint; last: bigint } {
  const hosts = hostRange(pool);
  if (subPool === undefined) return hosts;
  return {
    first: subPool.first > hosts.first ? subPool.first : hosts.first,
    last: subPool.last < hosts.last ? subPool.last : hosts.last,
  };
}

/** The same request always gets the same id, as Docker requires. */
const poolId = (addressSpace: string, pool: string, subPool: string): string =>
  subPool === "" ? `${addressSpace}/${pool}` : `${addressSpace}/${pool}/${subPool}`;
