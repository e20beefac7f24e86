/**
 * Integration tests need root (they make namespaces). Without it they skip and say so; under CI a missing
 * root fails the run, since a suite that silently skips tests nothing.
 */
const isRoot = process.getuid?.() === 0;

if (!isRoot) {
  const message = "integration tests need root to create network namespaces; skipping them";
  if (process.env["CI"] !== undefined && process.env["CI"] !== "")
    throw new Error(`${message} is not allowed in CI`);
  process.stderr.write(`${message}\n`);
}

export const needsRoot = !isRoot;
