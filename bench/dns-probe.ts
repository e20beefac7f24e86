/**
 * bench/dns's probe, run in a client namespace: for each name read from stdin (one a line), asks the server
 * for its A record every `interval` ms until an answer has one, then writes `NAME WALLCLOCK_MS` (the clock
 * bench/dns reads too: `performance.timeOrigin + performance.now()`). Names come one at a time.
 *
 *   node dist/bench/dns-probe.js SERVER [INTERVAL_MS]
 */
import { createSocket } from "node:dgram";
import { createInterface } from "node:readline";
import { decode, encode, RECURSION_DESIRED } from "dns-packet";

const [server = "", interval = "2"] = process.argv.slice(2);
const socket = createSocket(server.includes(":") ? "udp6" : "udp4");
let asking: { name: string; timer: NodeJS.Timeout } | undefined;
let id = 0;

socket.on("message", (msg) => {
  if (asking === undefined) return;
  const answer = decode(msg);
  const found = (answer.answers ?? []).some(
    (a) => a.type === "A" && a.name.toLowerCase() === asking?.name.toLowerCase(),
  );
  if (!found) return;
  clearInterval(asking.timer);
  process.stdout.write(`${asking.name} ${String(performance.timeOrigin + performance.now())}\n`);
  asking = undefined;
});

createInterface({ input: process.stdin }).on("line", (name) => {
  const ask = (): void => {
    id = (id + 1) & 0xffff;
    const query = encode({
      type: "query",
      id,
      flags: RECURSION_DESIRED,
      questions: [{ name, type: "A", class: "IN" }],
    });
    socket.send(query, 53, server);
  };
  asking = { name, timer: setInterval(ask, Number(interval)) };
  ask();
});
process.stdin.on("end", () => socket.close());
