/**
 * The browser tests drive Debian's chromium (scripts/install-deps.sh installs it), or the one
 * HOSTNET_CHROMIUM names. Without one they skip and say so; under CI a missing chromium fails the run, as a
 * missing root does (root.ts).
 */
import { existsSync } from "node:fs";

const candidates = [process.env["HOSTNET_CHROMIUM"], "/usr/bin/chromium"];

export const chromiumPath: string | undefined = candidates.find(
  (path): path is string => path !== undefined && path !== "" && existsSync(path),
);

if (chromiumPath === undefined) {
  const message =
    "the browser tests need chromium at /usr/bin/chromium (apt-get install chromium) or $HOSTNET_CHROMIUM; skipping them";
  if (process.env["CI"] !== undefined && process.env["CI"] !== "")
    throw new Error(`${message} is not allowed in CI`);
  process.stderr.write(`${message}\n`);
}
