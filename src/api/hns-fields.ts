/**
 * The core's field names as HNS's JSON names them: the REST API's (its requests follow HNS v2), and the
 * Docker plugin's, whose answers have always named fields so. Several of the core's fields are given as
 * HNS policies, so HNS names them all `Policies`.
 */
import type { CoreField } from "../errors.js";

export const hnsFieldNames: Readonly<Record<Exclude<CoreField, "sandbox">, string>> = {
  name: "Name",
  type: "Type",
  network: "HostComputeNetwork",
  namespace: "HostComputeNamespace",
  ifname: "InterfaceName",
  mac: "MacAddress",
  mtu: "Mtu",
  subnets: "Ipams",
  policies: "Policies",
  adapter: "Policies",
  vni: "Policies",
  path: "Path",
  vips: "FrontendVIPs",
  portMappings: "PortMappings",
  backends: "HostComputeEndpoints",
  sourceVip: "SourceVIP",
  destination: "Destination",
  port: "Port",
  source: "Source",
  timeout: "TimeoutSeconds",
};
