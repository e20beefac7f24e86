/** `hostnet namespace …`: network namespaces that endpoints attach to, created or adopted. */
import type { NamespaceRequest, NamespaceWire as Namespace } from "../api/rest/wire.js";
import { defineCommand, group, type OptionSpecs, type Values } from "./command.js";
import { columnTable, forScripts, plain, shortId, type Column, type TableStyle } from "./output.js";

export const namespaceCreateOptions = {
  path: {
    type: "string",
    arg: "PATH",
    description: "Adopt this existing netns, e.g. /proc/PID/ns/net, instead of creating one",
  },
} as const satisfies OptionSpecs;

/** The body of POST /namespaces for `namespace create NAME …`. */
export function namespaceCreateRequest(
  name: string,
  values: Values<typeof namespaceCreateOptions>,
): NamespaceRequest {
  return values.path === undefined ? { Name: name } : { Name: name, Path: values.path };
}

const namespaceColumns: readonly Column<Namespace>[] = [
  { header: "ID", cell: (ns) => shortId(ns.ID) },
  { header: "NAME", cell: (ns) => ns.Name },
  { header: "PATH", cell: (ns) => ns.Path },
  { header: "OWNED", cell: (ns) => (ns.Owned ? "yes" : "no") },
  { header: "ENDPOINTS", cell: (ns) => String(ns.Resources.length) },
  {
    header: "ENDPOINT IDS",
    wide: true,
    cell: (ns) => ns.Resources.map((r) => shortId(r.Id)).join(",") || "-",
  },
];

export function namespaceTable(namespaces: readonly Namespace[], style: TableStyle = plain): string {
  return columnTable(namespaceColumns, namespaces, style);
}

export const namespace = group({
  names: ["namespace"],
  help: "Manage network namespaces",
  commands: [
    defineCommand({
      names: ["create"],
      help: "Create a network namespace, or adopt an existing one, and print its ID",
      args: ["NAME"],
      options: namespaceCreateOptions,
      examples: ["hostnet namespace create web1", "hostnet namespace create ctr1 --path /proc/4242/ns/net"],
      async run(ctx, { args, values }) {
        const created = await ctx.client.createNamespace(namespaceCreateRequest(args.NAME, values));
        ctx.show(created, () => created.ID);
      },
    }),
    defineCommand({
      names: ["ls", "list"],
      help: "List network namespaces",
      async run(ctx) {
        const namespaces = await ctx.client.namespaces();
        ctx.show(namespaces, (style) => namespaceTable(namespaces, style));
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove a network namespace (an adopted one is only forgotten) and detach its endpoints",
      args: ["NAMESPACE"],
      async run(ctx, { args }) {
        await ctx.client.deleteNamespace(args.NAMESPACE);
        if (!forScripts(ctx.output)) ctx.out(args.NAMESPACE);
      },
    }),
  ],
});
