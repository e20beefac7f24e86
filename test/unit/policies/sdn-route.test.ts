import { expect, it } from "vitest";
import { checkPolicies } from "../../../src/policies/checks.js";
import { sdnRoute } from "../../../src/policies/sdn-route.js";
import { runPolicyContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const settings = { DestinationPrefix: "192.0.2.0/24", NextHop: "10.88.0.254" };

runPolicyContract(sdnRoute, {
  settings,
  malformed: [
    { settings: [], field: `${SETTINGS}.DestinationPrefix` },
    { settings: { NextHop: "10.88.0.254" }, field: `${SETTINGS}.DestinationPrefix` },
    { settings: { ...settings, DestinationPrefix: "192.0.2.0" }, field: `${SETTINGS}.DestinationPrefix` },
    { settings: { ...settings, NextHop: "fd88::1" }, field: `${SETTINGS}.NextHop` },
    { settings: { ...settings, NextHop: 7 }, field: `${SETTINGS}.NextHop` },
  ],
  skip: {
    "where it may not appear it is refused naming its Type": "endpoints and networks both take SDNRoute",
  },
});

it("refuses a next hop on none of the network's subnets, naming it", () => {
  const given = { field: SETTINGS, policy: sdnRoute.parse(SETTINGS, settings) };
  const net = (prefix: string) => ({ name: "n1", type: "NAT" as const, subnets: [{ prefix }] });
  expect(checkPolicies([given], net("10.88.0.0/24"))).toEqual([given.policy]);
  expect(() => checkPolicies([given], net("10.89.0.0/24"))).toThrow(
    expect.objectContaining({ detail: { field: `${SETTINGS}.NextHop` } }),
  );
});
