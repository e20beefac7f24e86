/**
 * Typed client for hostnetd's REST API on its unix socket, the CLI's way to hostnetd. It loads only node:
 * built-ins and src/errors.ts; its types are the API's schemas', imported as types only.
 */
import { defaultTimeoutMs, request, streamLines, type RequestOptions } from "./request.js";
import type { EventWire } from "../api/rest/events.js";
import type { TraceRequest, TraceWire } from "../api/rest/trace.js";
import type { InfoWire as Info } from "../api/rest/info.js";
import type { HnsFeaturesWire, HnsVersionWire } from "../api/rest/globals.js";
import type {
  BackendRequest,
  LoadBalancerRequest,
  LoadBalancerWire as LoadBalancer,
} from "../api/rest/load-balancers.js";
import type {
  AttachRequest,
  CountedPolicy,
  EndpointRequest,
  EndpointStats,
  EndpointWire as Endpoint,
  NamespaceRequest,
  NamespaceWire as Namespace,
  NetworkRequest,
  NetworkWire as Network,
  Plan,
  PolicyRequest,
} from "../api/rest/wire.js";

/** Every method rejects with a HostnetError: the API's own error, or Unavailable when hostnetd is down. */
export interface HostnetClient {
  readonly socket: string;
  /** The HNS release hostnetd answers as, and its SupportedFeatures. */
  version(): Promise<HnsVersionWire>;
  features(): Promise<HnsFeaturesWire>;

  networks(): Promise<Network[]>;
  network(ref: string): Promise<Network>;
  createNetwork(body: NetworkRequest): Promise<Network>;
  /** `force` also removes the network's endpoints. */
  deleteNetwork(ref: string, options?: { readonly force?: boolean }): Promise<void>;

  endpoints(filter?: { readonly network?: string }): Promise<Endpoint[]>;
  endpoint(ref: string): Promise<Endpoint>;
  createEndpoint(body: EndpointRequest): Promise<Endpoint>;
  deleteEndpoint(ref: string): Promise<void>;
  attachEndpoint(ref: string, body: AttachRequest): Promise<Endpoint>;
  detachEndpoint(ref: string): Promise<Endpoint>;
  /** What the endpoint received, sent and had dropped (HNS's endpoint statistics). */
  endpointStats(ref: string): Promise<EndpointStats>;
  /** Adds, removes or replaces the endpoint's policies (not its port mappings) and answers the endpoint. */
  modifyPolicies(ref: string, body: PolicyRequest): Promise<Endpoint>;
  /** Changes the policies every endpoint of the network gets besides its own. */
  modifyNetworkPolicies(ref: string, body: PolicyRequest): Promise<Network>;
  /** The endpoint's policies but its port mappings, each ACL with its packet and byte counters. */
  policies(ref: string): Promise<CountedPolicy[]>;

  namespaces(): Promise<Namespace[]>;
  namespace(ref: string): Promise<Namespace>;
  createNamespace(body: NamespaceRequest): Promise<Namespace>;
  deleteNamespace(ref: string): Promise<void>;

  loadBalancers(): Promise<LoadBalancer[]>;
  loadBalancer(ref: string): Promise<LoadBalancer>;
  createLoadBalancer(body: LoadBalancerRequest): Promise<LoadBalancer>;
  /** Makes the load balancer `body` says, as a create would (HNS ModifyLoadbalancer). */
  updateLoadBalancer(ref: string, body: LoadBalancerRequest): Promise<LoadBalancer>;
  deleteLoadBalancer(ref: string): Promise<void>;
  /** Adds or removes one backend. */
  modifyBackends(ref: string, body: BackendRequest): Promise<LoadBalancer>;

  /**
   * Sends a probe from the endpoint (or, with Watch, waits for the next packet of the flow it sends) with
   * tracing on for its flow alone: where it went, or what dropped it.
   */
  trace(ref: string, body: TraceRequest): Promise<TraceWire>;
  /** What the next converge would change in the kernel, without changing it. */
  plan(): Promise<Plan>;
  /** hostnetd's version, the kernel features it found, what it holds by type, etcd, its socket and store. */
  info(): Promise<Info>;
  /**
   * Hands each event of the stream to `onEvent` as it comes: those kept from `since`, then live ones, until
   * `until` (else until the connection ends). Times are RFC 3339 or Unix seconds, as hostnetd reads them.
   */
  events(query: EventQuery, onEvent: (event: EventWire) => void): Promise<void>;
}

/** Which events `events` asks for; hostnetd checks the values. */
interface EventQuery {
  readonly since?: string;
  readonly until?: string;
  readonly kind?: string;
  readonly object?: string;
}

/**
 * @example
 * const client = createClient({ socket: "/run/hostnet/hostnet.sock" });
 * const nets = await client.networks();
 */
export function createClient(options: RequestOptions): HostnetClient {
  const call = (method: string, path: string, body?: unknown, waitsMs = 0): Promise<unknown> =>
    request(
      waitsMs === 0 ? options : { ...options, timeoutMs: (options.timeoutMs ?? defaultTimeoutMs) + waitsMs },
      method,
      path,
      body,
    );
  const ref = encodeURIComponent;
  const none = async (p: Promise<unknown>): Promise<void> => {
    await p;
  };

  // The casts trust hostnetd, which validates every answer against the schemas these types come from.
  return {
    socket: options.socket,
    version: async () => (await call("GET", "/globals/version")) as HnsVersionWire,
    features: async () => (await call("GET", "/globals/features")) as HnsFeaturesWire,

    networks: async () => (await call("GET", "/networks")) as Network[],
    network: async (r) => (await call("GET", `/networks/${ref(r)}`)) as Network,
    createNetwork: async (body) => (await call("POST", "/networks", body)) as Network,
    deleteNetwork: (r, opts) =>
      none(call("DELETE", `/networks/${ref(r)}${opts?.force === true ? "?force=true" : ""}`)),

    endpoints: async (filter) =>
      (await call(
        "GET",
        filter?.network === undefined ? "/endpoints" : `/endpoints?network=${ref(filter.network)}`,
      )) as Endpoint[],
    endpoint: async (r) => (await call("GET", `/endpoints/${ref(r)}`)) as Endpoint,
    createEndpoint: async (body) => (await call("POST", "/endpoints", body)) as Endpoint,
    deleteEndpoint: (r) => none(call("DELETE", `/endpoints/${ref(r)}`)),
    attachEndpoint: async (r, body) => (await call("POST", `/endpoints/${ref(r)}/attach`, body)) as Endpoint,
    detachEndpoint: async (r) => (await call("POST", `/endpoints/${ref(r)}/detach`)) as Endpoint,
    endpointStats: async (r) => (await call("GET", `/endpoints/${ref(r)}/stats`)) as EndpointStats,
    modifyPolicies: async (r, body) =>
      (await call("POST", `/endpoints/${ref(r)}/policies`, body)) as Endpoint,
    modifyNetworkPolicies: async (r, body) =>
      (await call("POST", `/networks/${ref(r)}/policies`, body)) as Network,
    policies: async (r) =>
      ((await call("GET", `/endpoints/${ref(r)}/policies`)) as { Policies: CountedPolicy[] }).Policies,

    namespaces: async () => (await call("GET", "/namespaces")) as Namespace[],
    namespace: async (r) => (await call("GET", `/namespaces/${ref(r)}`)) as Namespace,
    createNamespace: async (body) => (await call("POST", "/namespaces", body)) as Namespace,
    deleteNamespace: (r) => none(call("DELETE", `/namespaces/${ref(r)}`)),

    loadBalancers: async () => (await call("GET", "/loadbalancers")) as LoadBalancer[],
    loadBalancer: async (r) => (await call("GET", `/loadbalancers/${ref(r)}`)) as LoadBalancer,
    createLoadBalancer: async (body) => (await call("POST", "/loadbalancers", body)) as LoadBalancer,
    updateLoadBalancer: async (r, body) =>
      (await call("PUT", `/loadbalancers/${ref(r)}`, body)) as LoadBalancer,
    deleteLoadBalancer: (r) => none(call("DELETE", `/loadbalancers/${ref(r)}`)),
    modifyBackends: async (r, body) =>
      (await call("POST", `/loadbalancers/${ref(r)}/endpoints`, body)) as LoadBalancer,

    // A watch answers once its packet came or its time is up: the wait for the answer is that much longer.
    trace: async (r, body) =>
      (await call(
        "POST",
        `/endpoints/${ref(r)}/trace`,
        body,
        body.Watch === true ? (body.TimeoutSeconds ?? 0) * 1000 : 0,
      )) as TraceWire,
    plan: async () => (await call("GET", "/plan")) as Plan,
    info: async () => (await call("GET", "/info")) as Info,
    events: (query, onEvent) => {
      const params = new URLSearchParams(
        Object.entries(query).filter((e): e is [string, string] => typeof e[1] === "string"),
      ).toString();
      return streamLines(options, `/events${params === "" ? "" : `?${params}`}`, (line) => {
        onEvent(JSON.parse(line) as EventWire);
      });
    },
  };
}
