import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/errors.js";
import { formatPortMapping, parsePublish } from "../../../src/cli/publish.js";

describe("parsePublish", () => {
  it.each([
    ["8080:80", { Protocol: "TCP", ExternalPort: 8080, InternalPort: 80 }],
    ["8080:80/udp", { Protocol: "UDP", ExternalPort: 8080, InternalPort: 80 }],
    ["8080:80/TCP", { Protocol: "TCP", ExternalPort: 8080, InternalPort: 80 }],
    ["127.0.0.1:8080:80/tcp", { Protocol: "TCP", ExternalPort: 8080, InternalPort: 80, VIP: "127.0.0.1" }],
    ["[::1]:8080:80", { Protocol: "TCP", ExternalPort: 8080, InternalPort: 80, VIP: "::1" }],
    ["[fd00::5]:5353:53/udp", { Protocol: "UDP", ExternalPort: 5353, InternalPort: 53, VIP: "fd00::5" }],
    ["65535:1", { Protocol: "TCP", ExternalPort: 65535, InternalPort: 1 }],
  ])("reads %s", (text, settings) => {
    expect(parsePublish(text)).toStrictEqual(settings);
  });

  it.each([
    ["", "is not [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]"],
    ["80", "is not [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]"],
    ["1.2.3.4:8080:80:90", "is not [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]"],
    ["::1:8080:80", "is not [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]"],
    ["8080:80/sctp", 'protocol "sctp" is not tcp or udp'],
    ["8080:80/", 'protocol "" is not tcp or udp'],
    ["0:80", 'port "0" is not a number from 1 to 65535'],
    ["8080:65536", 'port "65536" is not a number from 1 to 65535'],
    ["8000-8010:80", 'port "8000-8010" is not a number'],
    ["http:80", 'port "http" is not a number'],
    ["localhost:8080:80", 'host IP "localhost" is not an IPv4 address'],
    ["[127.0.0.1]:8080:80", 'host IP "[127.0.0.1]" is not'],
    [":8080:80", 'host IP "" is not'],
  ])("rejects %j naming the flag", (text, reason) => {
    const attempt = (): unknown => parsePublish(text);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(`--publish "${text}"`);
    expect(attempt).toThrow(reason);
  });
});

describe("formatPortMapping", () => {
  it("shows mappings as docker ps does, with the API's protocol numbers or names", () => {
    expect(formatPortMapping("PortMapping", { Protocol: 6, InternalPort: 80, ExternalPort: 8080 })).toBe(
      "8080->80/tcp",
    );
    expect(
      formatPortMapping("PortMapping", {
        Protocol: 17,
        InternalPort: 53,
        ExternalPort: 53,
        VIP: "127.0.0.1",
      }),
    ).toBe("127.0.0.1:53->53/udp");
    expect(
      formatPortMapping("PortMapping", { Protocol: "UDP", InternalPort: 53, ExternalPort: 53, VIP: "::1" }),
    ).toBe("[::1]:53->53/udp");
  });

  it("reads back what parsePublish wrote", () => {
    for (const text of ["8080:80/tcp", "127.0.0.1:8080:80/udp", "[::1]:8080:80/tcp"])
      expect(formatPortMapping("PortMapping", parsePublish(text))).toBe(text.replace(/:(\d+)\//, "->$1/"));
  });

  it("skips other policies", () => {
    expect(formatPortMapping("ACL", { Action: "Allow" })).toBeUndefined();
    expect(formatPortMapping("PortMapping", null)).toBeUndefined();
  });
});
