/** `--acl SPEC`: what it reads, what it refuses, and that hostnetd shows the result back unchanged. */
import { describe, expect, it } from "vitest";
import { parseAcl } from "../../../src/cli/acl.js";
import { UsageError } from "../../../src/cli/errors.js";
import { parsePolicy } from "../../../src/policies/parse.js";
import { policyView } from "../../../src/policies/view.js";

const any = {
  Protocols: "",
  LocalAddresses: "",
  RemoteAddresses: "",
  LocalPorts: "",
  RemotePorts: "",
  Priority: 100,
};

describe("parseAcl", () => {
  it.each([
    ["action=allow,dir=in", { Action: "Allow", Direction: "In", ...any }],
    ["dir=OUT,action=Block", { Action: "Block", Direction: "Out", ...any }],
    [
      "action=block,dir=in,proto=tcp,lport=22,prio=100",
      { Action: "Block", Direction: "In", ...any, Protocols: "6", LocalPorts: "22" },
    ],
    [
      "action=allow,dir=out,proto=tcp+UDP,rport=53+8000-8080,prio=7",
      {
        Action: "Allow",
        Direction: "Out",
        ...any,
        Protocols: "6,17",
        RemotePorts: "53,8000-8080",
        Priority: 7,
      },
    ],
    [
      "action=allow,dir=in,proto=icmp+icmpv6+1+132",
      { Action: "Allow", Direction: "In", ...any, Protocols: "1,58,1,132" },
    ],
    [
      "action=block,dir=in,laddr=10.0.0.0/8+fd00::/8,raddr=192.0.2.7+2001:db8::1",
      {
        Action: "Block",
        Direction: "In",
        ...any,
        LocalAddresses: "10.0.0.0/8,fd00::/8",
        RemoteAddresses: "192.0.2.7,2001:db8::1",
      },
    ],
    // hostnetd shows a one-port range as the port, and ports as numbers.
    [
      "action=allow,dir=in,lport=080-80+1-65535,prio=65500",
      { Action: "Allow", Direction: "In", ...any, LocalPorts: "80,1-65535", Priority: 65500 },
    ],
    // Ports without a protocol are hostnetd's to allow: its rules match any transport header.
    ["action=allow,dir=in,lport=22", { Action: "Allow", Direction: "In", ...any, LocalPorts: "22" }],
  ])("reads %s", (text, settings) => {
    expect(parseAcl(text)).toStrictEqual(settings);
  });

  it.each([
    ["", '"" is not KEY=VALUE'],
    ["action=allow,dir=in,", '"" is not KEY=VALUE'],
    ["action=allow,dir=in,tcp", '"tcp" is not KEY=VALUE (keys: action, dir, proto'],
    ["action=allow,dir=in,port=22", 'unknown key "port"'],
    ["action=allow,dir=in,Proto=tcp", 'unknown key "Proto"'],
    ["action=allow,action=block,dir=in", "action is given twice"],
    ["dir=in", "missing action=allow|block"],
    ["action=allow", "missing dir=in|out"],
    ["action=deny,dir=in", 'action "deny" is not allow or block'],
    ["action=allow,dir=both", 'dir "both" is not in or out'],
    ["action=allow,dir=in,proto=sctpx", 'proto "sctpx" is not tcp, udp, icmp, icmpv6 or a protocol number'],
    ["action=allow,dir=in,proto=256", 'proto "256" is not'],
    ["action=allow,dir=in,proto=tcp+", 'proto "" is not'],
    ["action=allow,dir=in,laddr=10.0.0.0/33", 'laddr "10.0.0.0/33" is not an IP address or prefix'],
    ["action=allow,dir=in,raddr=fd00::/129", 'raddr "fd00::/129" is not an IP address or prefix'],
    ["action=allow,dir=in,raddr=example.com", 'raddr "example.com" is not'],
    ["action=allow,dir=in,raddr=10.0.0.0/8/8", 'raddr "10.0.0.0/8/8" is not'],
    ["action=allow,dir=in,raddr=10.0.0.1,10.0.0.2", '"10.0.0.2" is not KEY=VALUE'],
    ["action=allow,dir=in,lport=0", 'lport "0" is not a port or range from 1 to 65535'],
    ["action=allow,dir=in,lport=65536", 'lport "65536" is not a port'],
    ["action=allow,dir=in,rport=90-80", 'rport "90-80" is not a port'],
    ["action=allow,dir=in,rport=http", 'rport "http" is not a port'],
    ["action=allow,dir=in,proto=icmp,lport=22", "lport and rport need proto to be tcp and/or udp"],
    ["action=allow,dir=in,proto=tcp+icmp,rport=53", "lport and rport need proto to be tcp and/or udp"],
    ["action=allow,dir=in,prio=0", 'prio "0" is not a number from 1 to 65500'],
    ["action=allow,dir=in,prio=65501", 'prio "65501" is not a number'],
    ["action=allow,dir=in,prio=1+2", 'prio "1+2" is not a number'],
    ["action=allow,dir=in,prio=", 'prio "" is not a number'],
  ])("refuses %j naming the flag and the bad part", (text, reason) => {
    const attempt = (): unknown => parseAcl(text);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(`--acl "${text}": ${reason}`);
  });

  // `policy rm --acl` sends what `policy add --acl` sent; this is what makes hostnetd find it again.
  it.each([
    "action=allow,dir=in",
    "action=block,dir=in,proto=tcp,lport=22,prio=100",
    "action=allow,dir=out,proto=tcp+udp,rport=53+8000-8080,raddr=10.0.0.0/8+fd00::/8,prio=7",
    "action=block,dir=out,proto=icmp+icmpv6,laddr=172.17.0.2",
  ])("writes %s in the form hostnetd shows it", (text) => {
    const settings = parseAcl(text);
    expect(policyView(parsePolicy("Policies[0]", "ACL", settings, "endpoint"))).toStrictEqual({
      Type: "ACL",
      Settings: settings,
    });
  });
});
