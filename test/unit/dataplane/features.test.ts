/** Kernel features as the kernel's configuration and its loaded modules tell them. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, expect, it } from "vitest";
import { kernelFeatures } from "../../../src/dataplane/features.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "hostnet-features-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const config = [
  "CONFIG_BRIDGE=y",
  "CONFIG_VETH=y",
  "CONFIG_VXLAN=m",
  "CONFIG_MACVLAN=m",
  "# CONFIG_VLAN_8021Q is not set",
];

it("reads /proc/config.gz: built in, a module loaded or not, missing", () => {
  mkdirSync(join(root, "proc"));
  writeFileSync(join(root, "proc", "config.gz"), gzipSync(`${config.join("\n")}\n`));
  mkdirSync(join(root, "sys", "module", "macvlan"), { recursive: true });
  expect(kernelFeatures(root, "6.1.0-test")).toMatchObject({
    bridge: "built-in",
    veth: "built-in",
    vxlan: "module",
    macvlan: "loaded",
    vlan: "missing",
    ifb: "missing",
  });
});

it("falls back to /boot/config-RELEASE, and says unknown without a configuration unless loaded", () => {
  mkdirSync(join(root, "boot"));
  writeFileSync(join(root, "boot", "config-6.1.0-test"), "CONFIG_VLAN_8021Q=m\n");
  expect(kernelFeatures(root, "6.1.0-test").vlan).toBe("module");
  mkdirSync(join(root, "sys", "module", "8021q"), { recursive: true });
  expect(kernelFeatures(root, "6.2.0-other")).toMatchObject({ vlan: "loaded", bridge: "unknown" });
});
