import { portMapping } from "../../../src/policies/port-mapping.js";
import { runSettingContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const settings = { Protocol: "TCP", InternalPort: 80, ExternalPort: 8080 };

runSettingContract(portMapping, "endpoint", {
  settings,
  malformed: [
    { settings: null, field: SETTINGS },
    { settings: { ...settings, Protocol: 132 }, field: `${SETTINGS}.Protocol` },
    { settings: { ...settings, Protocol: true }, field: `${SETTINGS}.Protocol` },
    { settings: { Protocol: 6, InternalPort: 80 }, field: `${SETTINGS}.ExternalPort` },
    { settings: { ...settings, ExternalPort: "8080" }, field: `${SETTINGS}.ExternalPort` },
    { settings: { ...settings, VIP: 5 }, field: `${SETTINGS}.VIP` },
  ],
});
