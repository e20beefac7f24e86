/**
 * How the repositories of src/store reach the database: the Store hands each one its statement cache when
 * it makes them, and keeps it private otherwise, so that SQL is written only in src/store.
 */
import type Database from "better-sqlite3";

/** A compiled statement for `sql`, compiled once per store. */
export type Prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string) => Database.Statement<P, R>;
