/**
 * Temporary: what src/core imports of ACLs until the registry's glue replaces it (issue 15). ACLs live in
 * src/policies; delete this file with the glue.
 */
export { aclObjects, checkAclTiers } from "../policies/acl-elements.js";
