import { describe, expect, it } from "vitest";
import { conflict, HostnetError, invalidArgument, renameField } from "../../src/errors.js";

describe("renameField", () => {
  const names = { ifname: "InterfaceName", name: "Name" };

  it("names a core field as the door does, in the message's prefix too, keeping the code and the reason", () => {
    const err = renameField(invalidArgument("ifname", "a/b is not a valid interface name"), names);
    expect(err).toMatchObject({
      code: "InvalidArgument",
      message: "InterfaceName: a/b is not a valid interface name",
      detail: { field: "InterfaceName" },
    });
  });

  it("keeps a message that does not start with the field, and the cause", () => {
    const cause = new Error("etcd is down");
    const err = renameField(
      new HostnetError("Unavailable", "network n1 is busy", { field: "name" }, { cause }),
      names,
    );
    expect(err).toMatchObject({
      code: "Unavailable",
      message: "network n1 is busy",
      detail: { field: "Name" },
    });
    expect(err.cause).toBe(cause);
    expect(renameField(conflict(`network "n1" already exists`, "name"), names).message).toBe(
      `network "n1" already exists`,
    );
  });

  it("leaves a door's own field path, and a core field the door does not rename", () => {
    const own = invalidArgument("Ipams[0].Subnets[0].IpAddressPrefix", "is not a prefix");
    expect(renameField(own, names)).toBe(own);
    const unnamed = invalidArgument("mtu", "is too small");
    expect(renameField(unnamed, names)).toBe(unnamed);
  });
});
