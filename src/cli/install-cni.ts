/**
 * `hostnet install-cni`: puts the CNI plugin where runtimes look for it (as `hostnet`, the type a
 * configuration names) and an example configuration list beside their others. Works without hostnetd.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "./command.js";
import { cniPlugin } from "../build-info.js";
import { HostnetError } from "../errors.js";

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
    if (!existsSync(cniPlugin))
      throw new HostnetError(
        "NotFound",
        `${cniPlugin} is missing: build it with a C compiler (npm run build in a checkout, npm rebuild -g hostnet where installed)`,
      );
    const binDir = values["bin-dir"] ?? "/opt/cni/bin";
    const confDir = values["conf-dir"] ?? "/etc/cni/net.d";
    mkdirSync(binDir, { recursive: true });
    mkdirSync(confDir, { recursive: true });
    const plugin = join(binDir, "hostnet");
    installFile((tmp) => copyFileSync(cniPlugin, tmp), plugin, 0o755);
    const conflist = join(confDir, CONFLIST_NAME);
    const wrote = !existsSync(conflist);
    if (wrote)
      installFile(
        (tmp) => writeFileSync(tmp, `${JSON.stringify(exampleConflist, null, 2)}\n`),
        conflist,
        0o644,
      );
    ctx.show(
      { plugin, conflist, wroteConflist: wrote },
      () => `installed ${plugin}\n${wrote ? "wrote" : "kept"} ${conflist}`,
    );
    return Promise.resolve();
  },
});
