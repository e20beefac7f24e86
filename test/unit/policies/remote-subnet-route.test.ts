import { remoteSubnetRoute } from "../../../src/policies/remote-subnet-route.js";
import { runPolicyContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const settings = { DestinationPrefix: "10.244.2.0/24", IsolationId: 4096, ProviderAddress: "192.168.77.2" };

runPolicyContract(remoteSubnetRoute, {
  settings,
  malformed: [
    { settings: 4096, field: SETTINGS },
    {
      settings: { IsolationId: 4096, ProviderAddress: "192.168.77.2" },
      field: `${SETTINGS}.DestinationPrefix`,
    },
    { settings: { ...settings, DestinationPrefix: "fd44::/64" }, field: `${SETTINGS}.DestinationPrefix` },
    { settings: { ...settings, IsolationId: "4096" }, field: `${SETTINGS}.IsolationId` },
    { settings: { ...settings, ProviderAddress: "host2" }, field: `${SETTINGS}.ProviderAddress` },
    {
      settings: { ...settings, DistributedRouterMacAddress: "01-00-5e-00-00-01" },
      field: `${SETTINGS}.DistributedRouterMacAddress`,
    },
  ],
  network: {
    type: "Overlay",
    subnets: [{ prefix: "10.244.1.0/24", prefixField: "Ipams[0]", gatewayField: "Ipams[0]" }],
    overlay: { vni: { value: 4096, field: "Policies[0].Settings.IsolationId" } },
  },
  host: { hostAddress: "192.168.77.1", underlay: { "192.168.77.1": 1500 } },
});
