/** Namespaces in the store's database: the ones hostnet made and the ones runtimes handed in. */
import type { Namespace } from "../model/types.js";
import type { Prepare } from "./statements.js";

interface NamespaceRow {
  id: string;
  name: string;
  path: string;
  owned: number;
}

export class NamespaceStore {
  constructor(private readonly prepare: Prepare) {}

  insert(ns: Namespace): void {
    this.prepare("INSERT INTO namespaces (id, name, path, owned) VALUES (?, ?, ?, ?)").run(
      ns.id,
      ns.name,
      ns.path,
      ns.owned ? 1 : 0,
    );
  }

  delete(id: string): void {
    this.prepare("DELETE FROM namespaces WHERE id = ?").run(id);
  }

  all(): Namespace[] {
    return this.prepare<[], NamespaceRow>("SELECT * FROM namespaces ORDER BY name").all().map(toNamespace);
  }

  /** The namespace with this id, name or path. */
  find(ref: string): Namespace | undefined {
    const row = this.prepare<[string, string, string], NamespaceRow>(
      "SELECT * FROM namespaces WHERE id = ? OR name = ? OR path = ?",
    ).get(ref, ref, ref);
    return row === undefined ? undefined : toNamespace(row);
  }
}

const toNamespace = (row: NamespaceRow): Namespace => ({
  id: row.id,
  name: row.name,
  path: row.path,
  owned: row.owned === 1,
});
