/** Docker's IPAM pools and the addresses handed out of them, in the store's database. */
import type { Prepare } from "./statements.js";

/** A pool Docker asked for; identical requests share it, counted in `refs`. */
export interface DockerPool {
  readonly id: string;
  readonly addressSpace: string;
  /** The pool's prefix (CIDR). */
  readonly pool: string;
  /** The part of the pool addresses are handed out of (CIDR); "" for the whole pool. */
  readonly subPool: string;
  readonly refs: number;
}

interface PoolRow {
  id: string;
  address_space: string;
  pool: string;
  sub_pool: string;
  refs: number;
}

export class DockerPoolStore {
  constructor(private readonly prepare: Prepare) {}

  all(): DockerPool[] {
    return this.prepare<[], PoolRow>("SELECT * FROM docker_ipam_pools").all().map(toPool);
  }

  find(id: string): DockerPool | undefined {
    const row = this.prepare<[string], PoolRow>("SELECT * FROM docker_ipam_pools WHERE id = ?").get(id);
    return row === undefined ? undefined : toPool(row);
  }

  /** A new pool, with one reference. */
  insert(pool: Omit<DockerPool, "refs">): void {
    this.prepare(
      "INSERT INTO docker_ipam_pools (id, address_space, pool, sub_pool, refs) VALUES (?, ?, ?, ?, 1)",
    ).run(pool.id, pool.addressSpace, pool.pool, pool.subPool);
  }

  setRefs(id: string, refs: number): void {
    this.prepare("UPDATE docker_ipam_pools SET refs = ? WHERE id = ?").run(refs, id);
  }

  /** Deletes the pool and every address handed out of it. */
  delete(id: string): void {
    this.prepare("DELETE FROM docker_ipam_pools WHERE id = ?").run(id);
  }

  addressTaken(poolId: string, address: string): boolean {
    return (
      this.prepare("SELECT 1 FROM docker_ipam_addresses WHERE pool_id = ? AND address = ?").get(
        poolId,
        address,
      ) !== undefined
    );
  }

  insertAddress(poolId: string, address: string): void {
    this.prepare("INSERT INTO docker_ipam_addresses (pool_id, address) VALUES (?, ?)").run(poolId, address);
  }

  deleteAddress(poolId: string, address: string): void {
    this.prepare("DELETE FROM docker_ipam_addresses WHERE pool_id = ? AND address = ?").run(poolId, address);
  }

  /** The pool's allocation cursor: the offset to try first, as a subnet's. */
  cursor(poolId: string): bigint {
    const row = this.prepare<[string], { next_offset: string }>(
      "SELECT next_offset FROM docker_ipam_pools WHERE id = ?",
    ).get(poolId);
    return BigInt(row?.next_offset ?? "0");
  }

  setCursor(poolId: string, offset: bigint): void {
    this.prepare("UPDATE docker_ipam_pools SET next_offset = ? WHERE id = ?").run(offset.toString(), poolId);
  }
}

const toPool = (row: PoolRow): DockerPool => ({
  id: row.id,
  addressSpace: row.address_space,
  pool: row.pool,
  subPool: row.sub_pool,
  refs: row.refs,
});
