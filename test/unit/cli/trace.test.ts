import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/errors.js";
import { parseTraceTarget, traceText } from "../../../src/cli/trace.js";

describe("parseTraceTarget", () => {
  it.each([
    ["10.0.0.2:80", { Destination: "10.0.0.2", Protocol: "tcp", Port: 80 }],
    ["10.0.0.2:53/udp", { Destination: "10.0.0.2", Protocol: "udp", Port: 53 }],
    ["10.0.0.2:443/TCP", { Destination: "10.0.0.2", Protocol: "tcp", Port: 443 }],
    ["10.0.0.2", { Destination: "10.0.0.2", Protocol: "icmp" }],
    ["10.0.0.2/icmp", { Destination: "10.0.0.2", Protocol: "icmp" }],
    ["fd00::2", { Destination: "fd00::2", Protocol: "icmp" }],
    ["[fd00::2]:80", { Destination: "fd00::2", Protocol: "tcp", Port: 80 }],
    ["[fd00::2]/icmp", { Destination: "fd00::2", Protocol: "icmp" }],
  ])("reads %s", (text, request) => {
    expect(parseTraceTarget(text)).toStrictEqual(request);
  });

  it.each([
    ["", "is not ADDR[:PORT][/tcp|/udp|/icmp]"],
    ["example.com:80", "is not ADDR[:PORT][/tcp|/udp|/icmp]"],
    ["10.0.0.2:80/sctp", 'protocol "sctp" is not tcp, udp or icmp'],
    ["10.0.0.2:80/icmp", "icmp has no port"],
    ["10.0.0.2/udp", "udp needs a port"],
    ["10.0.0.2:0", 'port "0" is not a number from 1 to 65535'],
    ["10.0.0.2:70000", 'port "70000" is not a number from 1 to 65535'],
  ])("refuses %j: %s", (text, message) => {
    expect(() => parseTraceTarget(text)).toThrow(UsageError);
    expect(() => parseTraceTarget(text)).toThrow(message);
  });
});

describe("traceText", () => {
  it("prints the probe, its steps one a line, and how it ended", () => {
    expect(
      traceText({
        Endpoint: "web",
        Source: "10.0.0.2",
        Destination: "192.0.2.1",
        Protocol: "tcp",
        Port: 5432,
        Dropped: true,
        Steps: [
          { Kind: "acl", Description: 'blocked by the ACL rule of endpoint "web": Out, priority 200, Block' },
        ],
        Probe: "no answer",
        Events: [],
      }),
    ).toBe(
      [
        "web (10.0.0.2) -> 192.0.2.1:5432/tcp",
        '  blocked by the ACL rule of endpoint "web": Out, priority 200, Block',
        "dropped; the probe: no answer",
      ].join("\n"),
    );
  });
});
