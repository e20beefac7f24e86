/**
 * The page's reads of hostnetd, through `hostnet ui`'s read-only /api/ paths: JSON answers, and the event
 * stream as newline-delimited JSON read as it comes.
 */
import type { EventWire } from "../../api/rest/events.js";
import type { LoadBalancerWire } from "../../api/rest/load-balancers.js";
import type { EndpointStats, EndpointWire, NamespaceWire, NetworkWire } from "../../api/rest/wire.js";
import type { Objects } from "../topology.js";

/** hostnetd's own error message when it sent one, else the status. */
async function failure(res: Response, path: string): Promise<Error> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === "string") return new Error(body.error.message);
  } catch {
    // not hostnetd's JSON: the status says enough
  }
  return new Error(`GET ${path}: ${res.status} ${res.statusText}`);
}

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  if (!res.ok) throw await failure(res, path);
  return res.json();
}

/** Every network, endpoint, namespace and load balancer, asked at once. */
export async function readObjects(): Promise<Objects> {
  const [networks, endpoints, namespaces, loadBalancers] = await Promise.all([
    getJson("/api/networks"),
    getJson("/api/endpoints"),
    getJson("/api/namespaces"),
    getJson("/api/loadbalancers"),
  ]);
  // hostnetd checks its answers against the schemas these types are made from.
  return {
    networks: networks as NetworkWire[],
    endpoints: endpoints as EndpointWire[],
    namespaces: namespaces as NamespaceWire[],
    loadBalancers: loadBalancers as LoadBalancerWire[],
  };
}

export const readStats = async (endpointId: string): Promise<EndpointStats> =>
  (await getJson(`/api/endpoints/${encodeURIComponent(endpointId)}/stats`)) as EndpointStats;

/**
 * Follows GET /events (with `since`, the kept events from then first): `onOpen` once hostnetd answered, so
 * that nothing happening after a read of the objects that follows it is missed; then `onEvent` for each
 * event. Resolves when the stream ends (hostnetd stopped), rejects when it could not be had.
 */
export async function followEvents(
  since: string | undefined,
  onOpen: () => void,
  onEvent: (e: EventWire) => void,
): Promise<void> {
  const path =
    since === undefined ? "/api/events" : `/api/events?${new URLSearchParams({ since }).toString()}`;
  const res = await fetch(path);
  if (!res.ok || res.body === null) throw await failure(res, path);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const lines = (rest + value).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line !== "") onEvent(JSON.parse(line) as EventWire);
  }
}
