/** `hostnet info`: this CLI's and hostnetd's versions and what hostnetd reports of itself and the kernel. */
import type { InfoWire as Info } from "../api/rest/info.js";
import { versionLine } from "../build-info.js";
import { defineCommand } from "./command.js";

/** `NAT 2, Overlay 1`, or `none`. */
const counts = (byType: Readonly<Record<string, number>>): string =>
  Object.entries(byType)
    .map(([type, n]) => `${type} ${String(n)}`)
    .join(", ") || "none";

function etcd({ State, Endpoints }: Info["Etcd"]): string {
  return State === "off" ? "off (no --etcd)" : `${State} (${Endpoints.join(", ")})`;
}

/** The paths (`ACL.AclPortRanges`, `DSR`) of the features of SupportedFeatures that are `on`, or `none`. */
function hnsFeatures(features: Info["Hns"]["Features"], on: boolean): string {
  return (
    Object.entries(features)
      .flatMap(([name, value]: [string, boolean | Record<string, boolean>]) =>
        typeof value === "boolean"
          ? value === on
            ? [name]
            : []
          : Object.entries(value).flatMap(([inner, v]) => (v === on ? [`${name}.${inner}`] : [])),
      )
      .join(", ") || "none"
  );
}

function infoText(answer: Info): string {
  const rows: [string, string][] = [
    ["Client", versionLine("hostnet")],
    ["Server", `hostnetd ${answer.Version} (commit ${answer.Commit})`],
    ["HNS", `${String(answer.Hns.Version.Major)}.${String(answer.Hns.Version.Minor)}`],
    ["  has", hnsFeatures(answer.Hns.Features, true)],
    ["  lacks", hnsFeatures(answer.Hns.Features, false)],
    ["Kernel", answer.Kernel.Release],
    ...Object.entries(answer.Kernel.Features).map(([feature, state]): [string, string] => [
      `  ${feature}`,
      state,
    ]),
    ["Networks", counts(answer.Networks)],
    ["Endpoints", counts(answer.Endpoints)],
    ["Etcd", etcd(answer.Etcd)],
    ["Socket", answer.Socket],
    ["Store", answer.Store],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join("\n");
}

export const info = defineCommand({
  names: ["info"],
  help: "Show hostnetd's version, the HNS release and features it answers as, the kernel features it found, its networks and endpoints by type, etcd, its socket and store",
  async run(ctx) {
    const answer = await ctx.client.info();
    ctx.show(answer, () => infoText(answer));
  },
});
