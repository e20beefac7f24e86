/**
 * libcni re-implemented for tests and benchmarks: runs a CNI network configuration list the way
 * containernetworking/cni `libcni/api.go` does at release v1.3.0 (LIBCNI_RELEASE), so a test sees what
 * containerd, CRI-O or cnitool would make a plugin see.
 *
 * Reproduced from libcni and the packages it uses (pkg/invoke, pkg/types, pkg/version, pkg/utils):
 * - list parsing (NetworkConfFromBytes): `name` required, `cniVersions` picks the highest version this
 *   library implements (1.1.0) together with `cniVersion`, `disableCheck`/`disableGC` as booleans or
 *   "true"/"false" strings, every plugin needs a `type`;
 * - plugin lookup (FindInPath): `<dir>/<type>` in pluginDirs order, the first regular file;
 * - stdin (buildOneConfig, InjectConf, injectRuntimeConfig): the plugin object with `name` and `cniVersion`
 *   of the list, `prevResult`, and `runtimeConfig` holding the capabilityArgs whose capability the plugin
 *   declares; serialized as Go's encoding/json does (map keys sorted, `<>&` escaped, 0.x results in their
 *   struct field order);
 * - environment (invoke.Args): ours plus CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_ARGS (K=V;K=V),
 *   CNI_IFNAME and CNI_PATH (pluginDirs joined by ':'), all six always set;
 * - ADD checks the container ID, network name and ifname (utils.Validate*) before each plugin;
 * - results (invoke.ExecPluginWithResult, types/{020,040,100}): a result without cniVersion takes the
 *   config's; results are decoded into the typed Result of their version, which drops unknown keys and
 *   prints addresses canonically, and are converted between versions as the Go converters do;
 * - ADD in order, each plugin getting the previous plugin's result; the final result cached in
 *   `<cacheDir>/results/<network>-<containerID>-<ifName>` (kind cniCacheV1);
 * - CHECK (>= 0.4.0 only, nothing when disableCheck) and DEL (reverse order) with the cached result converted
 *   to the list's version; DEL passes prevResult only from 0.4.0 on, tolerates a missing or broken cache, and
 *   removes the cache file afterwards; a missing cache does not stop CHECK either (the plugins then see no
 *   prevResult, and the reference plugins refuse that);
 * - GC: unless disableGC, DEL of every cached attachment of the network that is not valid (in any version),
 *   then, from 1.1.0 on, GC on every plugin with `cni.dev/valid-attachments` (and the misspelt
 *   `cni.dev/attachments`); it does not stop at an error and reports them all;
 * - STATUS from 1.1.0 on (a no-op below), stopping at the first error;
 * - VERSION as invoke.GetVersionInfo runs it, and ValidateNetworkList;
 * - errors: a failed plugin's stdout is decoded as `{code, msg, details}`; with no stdout its stderr becomes
 *   the message (`netplugin failed: "..."`); libcni's own messages and wrapping are libcni's
 *   (`plugin type="bridge" failed (add): ...`), while errors from Go's JSON decoder and `%q` quoting are
 *   worded closely, not byte for byte (a JSON syntax error carries Node's text).
 *
 * Deliberate differences: plugins run with a timeout (libcni relies on its caller's context), and a
 * timeout says so in the message; a plugin whose exec fails with "text file busy" is retried in a fresh
 * process (v1.3.0 re-runs the same exec.Cmd, which Go does not support); a successful plugin's stderr goes
 * to `onStderr` (libcni copies it to its own stderr); ValidateNetworkList returns capabilities in order of
 * appearance (libcni: Go's map order). Not reproduced: the single-plugin calls (AddNetwork and its kin),
 * loading lists from files, and the deprecated RuntimeConf.CacheDir.
 *
 * The modules follow libcni's own layout: parse.ts (libcni/conf.go, pkg/utils), convert.ts (pkg/types and
 * their converters) over go-json.ts (encoding/json), invoke.ts (pkg/invoke), cache.ts (the result cache) and
 * api.ts (libcni/api.go), with version.ts (pkg/version) and errors.ts (types.Error).
 *
 * Processes are spawned directly, never through a shell; with `hostNs` each plugin runs as
 * `nsenter --net=/run/netns/<hostNs> <plugin>`, so it sees that namespace as the runtime's root namespace.
 */
export { LibCni } from "./api.js";
export { CniError } from "./errors.js";
export type { RuntimeConf } from "./invoke.js";
export type { NetworkConfigList } from "./parse.js";
export { LIBCNI_RELEASE } from "./version.js";
