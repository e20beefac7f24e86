/**
 * `hostnet install-cni`: puts the CNI plugin where runtimes look for it (as `hostnet`, the type a
 * configuration names) and an example configuration list beside their others. Works without hostnetd.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommand } from "./command.js";
import { HostnetError } from "../errors.js";

/** scripts/build-cni.sh builds it into the package's dist/, found from here whether run from src or dist. */
function findPluginBinary(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "cni", "hostnet-cni");
  return "hostnet-cni";
}
const CONFLIST_NAME = "10-hostnet.conflist";

const exampleConflist = {
  cniVersion: "1.0.0",
  name: "hostnet",
  plugins: [
    {
      type: "hostnet",
      network: "cni",
      mode: "nat",
      ipam: { subnet: "10.88.0.0/16" },
      capabilities: { portMappings: true, bandwidth: true, ips: true, mac: true, dns: true },
    },
  ],
};

/** Copies under a temporary name and renames, so a runtime never execs a half-written plugin. */
function installFile(write: (tmp: string) => void, target: string, mode: number): void {
  const tmp = `${target}.tmp-${process.pid}`;
  write(tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, target);
}

export const installCni = defineCommand({
  names: ["install-cni"],
  help: "Install the CNI plugin (as 'hostnet') and an example configuration list",
  options: {
    "bin-dir": {
      type: "string",
      arg: "DIR",
      description: "Where runtimes find CNI plugins (default /opt/cni/bin)",
    },
    "conf-dir": {
      type: "string",
      arg: "DIR",
      description: `Where runtimes find network configurations (default /etc/cni/net.d); an existing ${CONFLIST_NAME} is kept`,
    },
  },
  examples: ["hostnet install-cni", "hostnet install-cni --bin-dir /usr/lib/cni --conf-dir /etc/cni/net.d"],
  run(ctx, { values }) {
    const pluginBinary = findPluginBinary();
    if (!existsSync(pluginBinary))
      throw new HostnetError("NotFound", `${pluginBinary} is missing: build it first (npm run build)`);
    const binDir = values["bin-dir"] ?? "/opt/cni/bin";
    const confDir = values["conf-dir"] ?? "/etc/cni/net.d";
    mkdirSync(binDir, { recursive: true });
    mkdirSync(confDir, { recursive: true });
    const plugin = join(binDir, "hostnet");
    installFile((tmp) => copyFileSync(pluginBinary, tmp), plugin, 0o755);
    const conflist = join(confDir, CONFLIST_NAME);
    const wrote = !existsSync(conflist);
    if (wrote)
      installFile(
        (tmp) => writeFileSync(tmp, `${JSON.stringify(exampleConflist, null, 2)}\n`),
        conflist,
        0o644,
      );
    ctx.out(
      ctx.json
        ? JSON.stringify({ plugin, conflist, wroteConflist: wrote })
        : `installed ${plugin}\n${wrote ? "wrote" : "kept"} ${conflist}`,
    );
    return Promise.resolve();
  },
});
