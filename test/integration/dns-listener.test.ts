/**
 * DNS: a network's resolver address that another program holds (a socket on GATEWAY:53 in hostnetd's
 * namespace, made before the network) fails neither the network nor its endpoints; the plan and the log say
 * why, and the periodic check opens the listener once the address is free.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";

const GATEWAY = "10.57.0.1";

describe.skipIf(needsRoot)("DNS: a resolver address another program holds", () => {
  const lab = useLab({ daemonArgs: ["--no-default-network", "--resync-interval", "3s"] });

  it("makes the network and its endpoints, says why in the plan and the log, and listens once it is free", async () => {
    // IP_FREEBIND: the address is the network's gateway, which its bridge does not have yet.
    const holder = spawn(
      "nsenter",
      [
        `--net=/run/netns/${lab.t.host}`,
        "socat",
        "-u",
        `UDP4-RECV:53,bind=${GATEWAY},ip-freebind=1`,
        "/dev/null",
      ],
      { stdio: "ignore" },
    );
    const released = new Promise((r) => holder.once("exit", r));
    lab.cleanup.add(async () => {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGKILL");
      await released;
    });
    expect(
      await within(2000, async () =>
        (await run(inNs(lab.t.host, ["ss", "-Huln", `src ${GATEWAY}:53`]))).stdout.includes(":53"),
      ),
    ).toBeDefined();

    const net = await lab.network("held", ["10.57.0.0/24"]);
    const a = await lab.container("a", "held");
    await lab.container("b", "held");
    const listener = (await lab.d.ok<{ Operations: Record<string, string>[] }>("GET", "/plan")).Operations;
    expect(listener).toEqual([
      {
        Action: "create",
        Kind: "dnsListener",
        Object: `resolver on ${GATEWAY}:53 (net:${net.ID})`,
        LastError: `bind EADDRINUSE ${GATEWAY}:53`,
      },
    ]);
    expect(lab.d.logs()).toContain(`bind EADDRINUSE ${GATEWAY}:53`);

    holder.kill("SIGKILL");
    await released;
    const ipA = a.IpConfigurations[0]?.IpAddress ?? "?";
    const answered = await within(10_000, async () =>
      (await run(inNs(lab.t.ns("b"), ["busybox", "nslookup", "a", GATEWAY]))).stdout.includes(ipA),
    );
    expect(answered).toBeDefined();
    expect(await lab.plan()).toEqual([]);
  });
});
