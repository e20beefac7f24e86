import { netAdapterName } from "../../../src/policies/net-adapter-name.js";
import { FakeUplinks } from "../harness.js";
import { runSettingContract } from "./contract.js";

const FIELD = "Policies[0].Settings.NetworkAdapterName";
const uplinks = new FakeUplinks();
uplinks.nics.set("lan0", {
  dev: "lan0",
  mac: "02:aa:00:00:00:01",
  mtu: 1500,
  up: true,
  addresses: ["10.70.0.1/24"],
  routes: [{ family: 4, dst: "default", via: "10.70.0.254", metric: null }],
});

runSettingContract(netAdapterName, "network", {
  settings: { NetworkAdapterName: "lan0" },
  malformed: [
    { settings: null, field: FIELD },
    { settings: {}, field: FIELD },
    { settings: { NetworkAdapterName: "" }, field: FIELD },
    { settings: { NetworkAdapterName: 1 }, field: FIELD },
  ],
  network: { type: "Transparent", subnets: [] },
  host: { uplinks },
  skip: {
    "its kernel objects are planned, and removed when it goes":
      "a network keeps its uplink while it lives; the mode programs it (test/unit/core/transparent.test.ts)",
  },
});
