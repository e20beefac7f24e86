/**
 * The store is the truth: every network, endpoint and namespace the user asked for, in SQLite. It keeps the
 * database, its migrations and its transactions, and hands one repository per noun the statements it runs.
 * better-sqlite3 is synchronous, so a write transaction can never interleave with an await; callers must
 * never pass an async function to `write`.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { HostnetError } from "../errors.js";
import { CensusStore } from "./census.js";
import { DockerPoolStore } from "./docker-pools.js";
import { EndpointStore } from "./endpoints.js";
import { EventStore } from "./events.js";
import { LoadBalancerStore } from "./load-balancers.js";
import { MetaStore } from "./meta.js";
import { migrations } from "./migrations.js";
import { NamespaceStore } from "./namespaces.js";
import { NetworkStore } from "./networks.js";
import type { Prepare } from "./statements.js";

export class Store {
  private readonly db: Database.Database;
  /** Compiled statements by SQL text: compiling costs more than running most of hostnet's queries. */
  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Opens the store and keeps it to this process: an exclusive lock on the database file, held until the
   * process closes it or dies, so a second hostnetd on the same state directory (in any network namespace)
   * is refused here, before it reads the store or touches the kernel. Nothing else ever waits for the lock,
   * so it is tried without waiting.
   */
  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path, { timeout: 0 });
    try {
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma("journal_mode = WAL");
      this.db.exec("BEGIN EXCLUSIVE; COMMIT");
    } catch (err) {
      this.db.close();
      if ((err as { code?: unknown }).code !== "SQLITE_BUSY") throw err;
      throw new HostnetError(
        "Conflict",
        `another hostnetd uses the state directory ${dirname(path)}: one hostnetd per state directory`,
        {},
        { cause: err },
      );
    }
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    migrations.slice(version).forEach((sql, i) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${version + i + 1}`);
      })();
    });
  }

  /** Statements run that write (see `version`). */
  private writes = 0;

  /**
   * A compiled statement; the repositories below get it, and no one outside src/store. One that writes counts
   * each of its runs in `version`: every write to the store goes through one.
   */
  private readonly prepare: Prepare = <P extends unknown[] = unknown[], R = unknown>(
    sql: string,
  ): Database.Statement<P, R> => {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (!statement.reader) {
        const run = statement.run.bind(statement);
        statement.run = (...params: unknown[]) => {
          this.writes++;
          return run(...params);
        };
      }
      this.statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  };

  /** Networks, their subnets and origins, overlay address blocks, uplinks to give back. */
  readonly networks = new NetworkStore(this.prepare);
  /** Endpoints with their addresses, port mappings, policies and origins. */
  readonly endpoints = new EndpointStore(this.prepare);
  readonly namespaces = new NamespaceStore(this.prepare);
  /** Load balancers and their backends. */
  readonly loadBalancers = new LoadBalancerStore(this.prepare);
  /** Docker's IPAM pools and their addresses. */
  readonly dockerPools = new DockerPoolStore(this.prepare);
  /** Objects counted by kind and state, and endpoints' links, for metrics. */
  readonly census = new CensusStore(this.prepare);
  /** hostnetd's own keys, its instance's identity among them. */
  readonly meta = new MetaStore(this.prepare);
  /** The event stream's history. */
  readonly events = new EventStore(this.prepare);

  /**
   * A number that changes with every write to the store (a statement run that inserts, changes or deletes;
   * one rolled back counts too): hostnetd is the store's one writer (the lock), so a copy of what it read stays
   * true while this number does. A counter rather than SQLite's total_changes(), which the resolver would ask
   * at every query.
   */
  version(): number {
    return this.writes;
  }

  /** Runs `fn` in one immediate transaction: all of it lands, or none. */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
