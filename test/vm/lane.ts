/**
 * What the stock-kernel lane's tests share: everything user-space is emulated in its guest, so hostnetd
 * takes about a minute to answer where it takes a second on a real host.
 */
import type { LabOptions } from "../helpers/lab.js";

export const emulated: LabOptions = { readyWithinMs: 240_000 };
