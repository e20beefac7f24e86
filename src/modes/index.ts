/** The registry of network modes: one entry per NetworkType, none missing. */
import type { NetworkType } from "../model/types.js";
import { internalMode, privateMode } from "./closed.js";
import type { NetworkMode } from "./mode.js";
import { nat } from "./nat.js";
import { overlay } from "./overlay.js";
import { l2bridge, l2tunnel, transparent } from "./lan.js";

export const modes: Record<NetworkType, NetworkMode> = {
  NAT: nat,
  Private: privateMode,
  Internal: internalMode,
  Transparent: transparent,
  L2Bridge: l2bridge,
  L2Tunnel: l2tunnel,
  Overlay: overlay,
};
export type { NetworkMode } from "./mode.js";
