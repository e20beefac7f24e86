import { describe, expect, it } from "vitest";
import { isLoopback, pageUrl, parseListen } from "../../../src/ui/listen.js";

describe("hostnet ui --listen", () => {
  it.each([
    ["9470", { host: "127.0.0.1", port: 9470 }],
    ["0", { host: "127.0.0.1", port: 0 }],
    ["127.0.0.2:80", { host: "127.0.0.2", port: 80 }],
    ["[::1]:9470", { host: "::1", port: 9470 }],
    ["0.0.0.0:9470", { host: "0.0.0.0", port: 9470 }],
  ])("reads %s", (text, want) => {
    expect(parseListen(text)).toStrictEqual(want);
  });

  it.each(["", "localhost:9470", "65536", "1.2.3:80", "::1:9470", "[::1]", "300.1.1.1:80", "127.0.0.1:"])(
    "refuses %j",
    (text) => {
      expect(parseListen(text)).toBeUndefined();
    },
  );

  it("prints a URL a browser opens", () => {
    expect(pageUrl({ host: "127.0.0.1", port: 9470 })).toBe("http://127.0.0.1:9470/");
    expect(pageUrl({ host: "::1", port: 80 })).toBe("http://[::1]:80/");
    expect(pageUrl({ host: "0.0.0.0", port: 80 })).toBe("http://127.0.0.1:80/");
    expect(pageUrl({ host: "::", port: 80 })).toBe("http://[::1]:80/");
  });

  it("knows loopback", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1"].map(isLoopback)).toStrictEqual([true, true, true]);
    expect(["0.0.0.0", "10.0.0.1", "::", "::ffff:127.0.0.1"].map(isLoopback)).toStrictEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
