/**
 * Docker's IPAM pools and the addresses handed out of them. Docker keeps none of this for a remote driver
 * ("it is the remote driver's responsibility to manage its database"), so pools and addresses live in
 * hostnet's store and survive restarts. Independent of hostnet's networks: the driver also serves networks
 * of other Docker drivers (`--ipam-driver hostnet`).
 */
import { conflict, invalidArgument, notFound } from "../errors.js";
import { cidrOf, hostRange, overlaps, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { DockerPool } from "../store/docker-pools.js";
import type { Store } from "../store/store.js";
import { allocate, type AddressRange } from "./allocator.js";

export interface PoolRequest {
  readonly addressSpace: string;
  /** The pool's prefix; "" for any free one. */
  readonly pool: string;
  /** The part of the pool to hand addresses out of; "" for the whole pool. */
  readonly subPool: string;
  readonly v6: boolean;
}

/** A free prefix of a family, avoiding `taken` and everything the host and hostnet's networks use. */
export type FreePrefix = (family: 4 | 6, taken: readonly Prefix[], field: string) => Promise<Prefix>;

export class DockerPools {
  constructor(
    private readonly store: Store,
    private readonly freePrefix: FreePrefix,
  ) {}

  /** Identical requests share one pool, counted; an empty Pool means any free one. */
  async requestPool(req: PoolRequest): Promise<{ id: string; pool: string }> {
    if (req.pool === "" && req.subPool !== "")
      throw invalidArgument("SubPool", "a SubPool needs a Pool to be inside of");
    if (req.pool === "") {
      const taken = this.store.dockerPools.all().map((p) => parsePrefix("pool", p.pool));
      const prefix = await this.freePrefix(req.v6 ? 6 : 4, taken, "Pool");
      return this.store.write(() => this.insert(req.addressSpace, cidrOf(prefix), ""));
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
      const same = this.store.dockerPools.find(id);
      if (same !== undefined) {
        this.store.dockerPools.setRefs(id, same.refs + 1);
        return { id, pool: same.pool };
      }
      for (const other of this.store.dockerPools.all())
        if (other.addressSpace === req.addressSpace && overlaps(parsePrefix("pool", other.pool), pool))
          throw conflict(`Pool: ${cidrOf(pool)} overlaps pool ${other.pool} in ${req.addressSpace}`, "Pool");
      return this.insert(req.addressSpace, cidrOf(pool), subPool);
    });
  }

  releasePool(id: string): void {
    this.store.write(() => {
      const pool = this.pool(id);
      if (pool.refs > 1) this.store.dockerPools.setRefs(id, pool.refs - 1);
      else this.store.dockerPools.delete(id);
    });
  }

  /** Reserves `address` ("" for the next free one) and answers it with the pool's prefix length. */
  requestAddress(id: string, address: string): string {
    return this.store.write(() => {
      const pool = this.pool(id);
      const requested = address === "" ? undefined : { field: "Address", address: withoutLength(address) };
      const chosen = allocate(this.range(pool), requested, (a) => {
        this.store.dockerPools.insertAddress(id, a);
      });
      return `${chosen}/${parsePrefix("pool", pool.pool).length}`;
    });
  }

  /** Releasing an address that is not allocated changes nothing: Docker releases again when it rolls back. */
  releaseAddress(id: string, address: string): void {
    this.store.write(() => {
      this.pool(id);
      this.store.dockerPools.deleteAddress(id, parseIp("Address", withoutLength(address)).address);
    });
  }

  private pool(id: string): DockerPool {
    const pool = this.store.dockerPools.find(id);
    if (pool === undefined) throw notFound("pool", id);
    return pool;
  }

  private insert(addressSpace: string, pool: string, subPool: string): { id: string; pool: string } {
    const id = poolId(addressSpace, pool, subPool);
    this.store.dockerPools.insert({ id, addressSpace, pool, subPool });
    return { id, pool };
  }

  /** The pool's host addresses, within the sub-pool if there is one. */
  private range(pool: DockerPool): AddressRange {
    const prefix = parsePrefix("pool", pool.pool);
    const hosts = hostRange(prefix);
    const sub = pool.subPool === "" ? hosts : parsePrefix("pool", pool.subPool);
    return {
      family: prefix.family,
      name: `pool ${pool.subPool || pool.pool}`,
      first: sub.first > hosts.first ? sub.first : hosts.first,
      last: sub.last < hosts.last ? sub.last : hosts.last,
      unavailable: (a) =>
        this.store.dockerPools.addressTaken(pool.id, a) ? "is already allocated" : undefined,
      cursor: () => this.store.dockerPools.cursor(pool.id),
      setCursor: (offset) => {
        this.store.dockerPools.setCursor(pool.id, offset);
      },
    };
  }
}

/** Docker may send an address with its prefix length. */
const withoutLength = (address: string): string => address.split("/")[0] ?? "";

/** The same request always gets the same id, as Docker requires. */
const poolId = (addressSpace: string, pool: string, subPool: string): string =>
  subPool === "" ? `${addressSpace}/${pool}` : `${addressSpace}/${pool}/${subPool}`;
