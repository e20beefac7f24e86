#!/usr/bin/env node
import { main } from "../src/cli/main.js";

// `hostnet endpoint ls | head` closes the pipe early: that is the reader's choice, not a failure to report.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  process.exit(err.code === "EPIPE" ? 0 : 1);
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  terminal: process.stdout.isTTY,
});
