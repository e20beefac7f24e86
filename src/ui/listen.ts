/**
 * Where `hostnet ui` listens: `[ADDR:]PORT`, as hostnetd's --metrics-listen reads it, on loopback unless an
 * address is given. Port 0 lets the kernel pick a free one.
 */
import { isIP } from "node:net";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const defaultListen: ListenAddress = { host: "127.0.0.1", port: 9470 };

const LISTEN = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):)?(\d{1,5})$/;

/** The address `text` names, or undefined when it is none (the caller names the option). */
export function parseListen(text: string): ListenAddress | undefined {
  const m = LISTEN.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  const host = m[1]?.replace(/^\[(.*)\]$/, "$1") ?? defaultListen.host;
  return port > 65535 || isIP(host) === 0 ? undefined : { host, port };
}

/** The URL a browser opens for `at`: IPv6 in brackets; an unspecified address is reached on loopback. */
export function pageUrl(at: ListenAddress): string {
  const host = at.host === "0.0.0.0" ? "127.0.0.1" : at.host === "::" ? "::1" : at.host;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${at.port}/`;
}

/** Whether `host` is a loopback address (127.0.0.0/8 or ::1). */
export const isLoopback = (host: string): boolean => host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
