/** What the Docker door answers an error with: hostnetd's own error, its field named as Docker's answers name it. */
import { asHostnetError, renameField, type FieldNames, type HostnetError } from "../../errors.js";
import { hnsFieldNames } from "../hns-fields.js";

/** HNS's names, which the plugin's answers have always used, and Join's own `SandboxKey`. */
export const dockerFieldNames: FieldNames = { ...hnsFieldNames, sandbox: "SandboxKey" };

export const dockerError = (err: unknown): HostnetError => renameField(asHostnetError(err), dockerFieldNames);
