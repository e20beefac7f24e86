import { qos } from "../../../src/policies/qos.js";
import { runPolicyContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const OUT = `${SETTINGS}.MaximumOutgoingBandwidthInBytes`;

runPolicyContract(qos, {
  settings: { MaximumOutgoingBandwidthInBytes: 1_000_000, MaximumIncomingBandwidthInBytes: 500_000 },
  malformed: [
    { settings: "fast", field: SETTINGS },
    { settings: {}, field: SETTINGS },
    { settings: { MaximumOutgoingBandwidthInBytes: 999 }, field: OUT },
    { settings: { MaximumOutgoingBandwidthInBytes: 1000.5 }, field: OUT },
    {
      settings: { MaximumIncomingBandwidthInBytes: "1MB" },
      field: `${SETTINGS}.MaximumIncomingBandwidthInBytes`,
    },
  ],
  skip: { "where it may not appear it is refused naming its Type": "endpoints and networks both take QOS" },
});
