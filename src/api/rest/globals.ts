/**
 * GET /globals/version and /globals/features: the HNS release hostnet answers as, for clients that derive
 * features from it as hcsshim does, and the features themselves (model/hns-features.ts).
 */
import type { FastifyInstance } from "fastify";
import { Type, type Static, type TBoolean, type TObject } from "typebox";
import {
  hnsFeatures,
  isFeature,
  supportedFeatures,
  type SupportedFeatures,
} from "../../model/hns-features.js";
import { hnsVersion } from "../../model/hns-version.js";

export const HnsVersionWire = Type.Object(
  { Major: Type.Integer(), Minor: Type.Integer() },
  { description: "The HNS release whose features (as hcsshim derives them) hostnet has" },
);
export type HnsVersionWire = Static<typeof HnsVersionWire>;

const booleans = (names: readonly string[]): TObject<Record<string, TBoolean>> =>
  Type.Object(Object.fromEntries(names.map((n) => [n, Type.Boolean()])));

/** hcsshim's SupportedFeatures, its JSON names, each true where hostnet has the feature working. */
export const HnsFeaturesWire = Type.Unsafe<SupportedFeatures>(
  Type.Object(
    Object.fromEntries(
      Object.entries(hnsFeatures).map(([name, value]: [string, object]) => [
        name,
        isFeature(value) ? Type.Boolean() : booleans(Object.keys(value)),
      ]),
    ),
    { description: "hcsshim's SupportedFeatures: true where hostnet has the feature working" },
  ),
);

export type HnsFeaturesWire = Static<typeof HnsFeaturesWire>;

export function registerGlobalRoutes(app: FastifyInstance): void {
  app.get("/globals/version", { schema: { response: { 200: HnsVersionWire } } }, () => hnsVersion());
  app.get("/globals/features", { schema: { response: { 200: HnsFeaturesWire } } }, () => supportedFeatures());
}
