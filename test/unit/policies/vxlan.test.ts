import { encapOverhead, vsid, vxlanPort } from "../../../src/policies/vxlan.js";
import { runSettingContract, type PolicySample } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const malformed = (key: string): PolicySample["malformed"] => [
  { settings: null, field: `${SETTINGS}.${key}` },
  { settings: {}, field: `${SETTINGS}.${key}` },
  { settings: { [key]: "4096" }, field: `${SETTINGS}.${key}` },
  { settings: { [key]: 1.5 }, field: `${SETTINGS}.${key}` },
];
const subnets = [{ prefix: "10.50.1.0/24", prefixField: "Ipams[0]", gatewayField: "Ipams[0]" }];
const overlay = {
  network: {
    type: "Overlay",
    subnets,
    overlay: { vni: { value: 4096, field: "Policies[1].Settings.IsolationId" } },
  },
  host: { hostAddress: "192.168.77.1", underlay: { "192.168.77.1": 1500 } },
};
const kept = {
  "its kernel objects are planned, and removed when it goes":
    "a network keeps its VXLAN while it lives; the overlay mode programs it (test/unit/modes/overlay.test.ts)",
};

runSettingContract(vsid, "network", {
  ...overlay,
  network: { type: "Overlay", subnets },
  settings: { IsolationId: 4097 },
  malformed: malformed("IsolationId"),
  skip: kept,
});

runSettingContract(vxlanPort, "network", {
  ...overlay,
  settings: { Port: 4790 },
  malformed: malformed("Port"),
  skip: kept,
});

runSettingContract(encapOverhead, "network", {
  ...overlay,
  settings: { Overhead: 100 },
  malformed: malformed("Overhead"),
  skip: {
    ...kept,
    "parse, view and parse again give the same":
      "hostnetd keeps no EncapOverhead: it shows in the network's MTU (test/unit/api/rest/overlay.test.ts)",
  },
});
