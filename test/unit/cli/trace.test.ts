import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/errors.js";
import { parseTraceTarget, trace, traceRequest, traceText } from "../../../src/cli/trace.js";
import { WATCH_SECONDS } from "../../../src/core/trace.js";

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

describe("traceRequest", () => {
  it("asks for a probe, from another source if given, or a watch with its timeout", () => {
    expect(traceRequest({ to: "10.0.0.2:80", source: "10.0.0.9" })).toStrictEqual({
      Destination: "10.0.0.2",
      Protocol: "tcp",
      Port: 80,
      Source: "10.0.0.9",
    });
    expect(traceRequest({ to: "10.0.0.2", watch: true })).toStrictEqual({
      Destination: "10.0.0.2",
      Protocol: "icmp",
      Watch: true,
    });
    expect(traceRequest({ to: "10.0.0.2:53/udp", watch: true, timeout: "120" })).toStrictEqual({
      Destination: "10.0.0.2",
      Protocol: "udp",
      Port: 53,
      Watch: true,
      TimeoutSeconds: 120,
    });
  });

  it.each([
    [{}, "missing --to"],
    [{ to: "10.0.0.2", timeout: "5" }, "--timeout is for --watch"],
    [{ to: "10.0.0.2", watch: true, source: "10.0.0.9" }, "--source is for a probe"],
    [{ to: "10.0.0.2", watch: true, timeout: "0" }, "is not a whole number of seconds, at least 1"],
    [{ to: "10.0.0.2", watch: true, timeout: "1.5" }, "is not a whole number of seconds, at least 1"],
  ])("refuses %j: %s", (values, message) => {
    expect(() => traceRequest(values)).toThrow(UsageError);
    expect(() => traceRequest(values)).toThrow(message);
  });

  it("says hostnetd's default timeout of a watch in --help", () => {
    expect(trace.options["timeout"]?.description).toContain(`default: ${String(WATCH_SECONDS.default)}`);
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

  it("ends a watch's path with what it watched, and says when no packet came", () => {
    const watched = {
      Endpoint: "web",
      Source: "10.0.0.2",
      Destination: "10.0.0.7",
      Protocol: "udp",
      Port: 53,
      Dropped: false,
      Steps: [{ Kind: "left", Description: "left through up0, to the outside" }],
      Seen: true,
      TimeoutSeconds: 30,
      Events: [],
    };
    expect(traceText(watched)).toBe(
      [
        "web (10.0.0.2) -> 10.0.0.7:53/udp",
        "  left through up0, to the outside",
        "passed; watched: a packet the endpoint sent itself",
      ].join("\n"),
    );
    expect(traceText({ ...watched, Steps: [], Seen: false })).toBe(
      ["web (10.0.0.2) -> 10.0.0.7:53/udp", "no packet of this flow within 30 s; nothing was traced"].join(
        "\n",
      ),
    );
  });
});
