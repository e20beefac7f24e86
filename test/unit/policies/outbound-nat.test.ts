import { outboundNat } from "../../../src/policies/outbound-nat.js";
import { runPolicyContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";

runPolicyContract(outboundNat, {
  settings: { VirtualIP: "192.0.2.10", Exceptions: ["10.0.0.0/8", "10.99.0.1", "fd00::/8"] },
  malformed: [
    { settings: null, field: SETTINGS },
    { settings: { VirtualIP: 5 }, field: `${SETTINGS}.VirtualIP` },
    { settings: { VirtualIP: "host" }, field: `${SETTINGS}.VirtualIP` },
    { settings: { Exceptions: "10.0.0.0/8" }, field: `${SETTINGS}.Exceptions` },
    { settings: { Exceptions: ["10.0.0.0/8", 7] }, field: `${SETTINGS}.Exceptions[1]` },
    { settings: { Exceptions: ["10.0.0.0/40"] }, field: `${SETTINGS}.Exceptions[0]` },
  ],
  skip: {
    "where it may not appear it is refused naming its Type": "endpoints and networks both take OutBoundNAT",
  },
});
