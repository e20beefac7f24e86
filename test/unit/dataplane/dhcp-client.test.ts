import { describe, expect, it } from "vitest";
import { parseEvent, udhcpcArgv } from "../../../src/dataplane/linux/dhcp-client.js";

describe("udhcpc events", () => {
  it("reads leases and losses from the script's lines, and nothing else", () => {
    expect(parseEvent("hostnet-dhcp bound 10.70.0.101 24 10.70.0.254")).toEqual({
      kind: "lease",
      address: "10.70.0.101",
      prefixLength: 24,
      router: "10.70.0.254",
    });
    expect(parseEvent("hostnet-dhcp renew 10.70.0.101 24")).toMatchObject({ kind: "lease", router: null });
    for (const event of ["deconfig", "leasefail", "nak"])
      expect(parseEvent(`hostnet-dhcp ${event}`)).toEqual({ kind: "lost" });
    expect(parseEvent("udhcpc: sending discover")).toBeUndefined();
    expect(parseEvent("hostnet-dhcp bound 10.70.0.101 255.255.255.0")).toBeUndefined();
  });

  it("runs udhcpc in the endpoint's namespace, dying with hostnetd, asking for its last address", () => {
    const argv = udhcpcArgv(
      { key: "k", netns: "/run/netns/c1", ifname: "eth0", hostname: "c1", previous: "10.70.0.5" },
      "/var/lib/hostnet/udhcpc.sh",
    );
    expect(argv.slice(0, 7)).toEqual([
      "setpriv",
      "--pdeathsig",
      "KILL",
      "nsenter",
      "--net=/run/netns/c1",
      "busybox",
      "udhcpc",
    ]);
    expect(argv.join(" ")).toContain("-i eth0 -s /var/lib/hostnet/udhcpc.sh");
    expect(argv.slice(-2)).toEqual(["-r", "10.70.0.5"]);
  });
});
