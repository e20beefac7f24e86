/** The CLI's whole command table: one entry per noun, each in its own file. */
import { group, type Group } from "./command.js";
import { completionCommand } from "./completion.js";
import { endpoint } from "./endpoint.js";
import { events } from "./events.js";
import { info } from "./info.js";
import { installCni } from "./install-cni.js";
import { lb } from "./lb.js";
import { namespace } from "./namespace.js";
import { network } from "./network.js";
import { plan } from "./plan.js";
import { policy } from "./policy.js";
import { trace } from "./trace.js";
import { ui } from "./ui.js";

export const commands: Group = group({
  names: ["hostnet"],
  help: "Manage hostnetd's networks, network namespaces, endpoints, their policies and load balancers",
  commands: [
    network,
    namespace,
    endpoint,
    policy,
    lb,
    plan,
    events,
    trace,
    ui,
    info,
    installCni,
    completionCommand(() => commands),
  ],
});
