/**
 * A status line for a long request on a terminal: what is being done and the seconds it has taken, redrawn
 * in place. hostnetd answers a request once, when it is done, so the line claims no percentage it cannot know.
 */
import type { Context } from "./command.js";

const clearLine = "\r\x1b[2K";

export async function withProgress<T>(ctx: Context, label: string, work: Promise<T>): Promise<T> {
  if (!ctx.terminal) return work;
  const started = Date.now();
  const draw = (): void => {
    ctx.write(`${clearLine}${label}… ${String(Math.floor((Date.now() - started) / 1000))}s`);
  };
  draw();
  const timer = setInterval(draw, 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    ctx.write(clearLine);
  }
}
