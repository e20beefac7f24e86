/**
 * An underlay for multi-host overlay tests: host namespaces on one Linux bridge, like machines on a LAN,
 * and an etcd (Debian's etcd-server 3.4) they share as the overlay's store. The bridge and etcd live in a
 * namespace of their own, so a test can stop the store without touching any host. Every namespace carries
 * a random prefix (several runs can coexist); nothing here touches the root namespace: links are made
 * inside the namespaces, and sysctls are set through `ip netns exec`, which applies them to that namespace.
 * With `{ tls: true }`, etcd serves https only and wants a client certificate, from a throwaway CA made with
 * openssl in the underlay's temp dir.
 */
import { settlesWithin } from "./poll.js";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, run, type RunResult } from "./run.js";
import { destroyPrefix } from "./topology.js";
import { failAfterCleanup, type Cleanup } from "./cleanup.js";
import { startDaemon, type TestDaemon } from "./daemon.js";

export interface UnderlayHost {
  readonly ns: string;
  readonly address: string;
}

export interface Underlay {
  /** Host i (from 1) is `<prefix>h<i>` with up0 at 192.168.77.<i>/24. */
  readonly hosts: readonly UnderlayHost[];
  /** The namespace of the underlay's bridge (and etcd), at 192.168.77.254: a machine outside the overlay. */
  readonly ns: string;
  /** https:// when the underlay has TLS. */
  readonly etcdUrl: string;
  readonly prefix: string;
  /** Stops etcd, deletes the namespaces, etcd's data and the certificates; safe to call again. */
  destroy(): Promise<void>;
}

/** PEM files a client of the underlay's etcd needs: the CA's certificate, a client certificate and its key. */
interface EtcdClientTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface TlsUnderlay extends Underlay {
  readonly tls: EtcdClientTls;
}

interface EtcdPki extends EtcdClientTls {
  readonly serverCert: string;
  readonly serverKey: string;
}

const ETCD = "/usr/bin/etcd";
const ETCDCTL = "/usr/bin/etcdctl";
const OPENSSL = "/usr/bin/openssl";
const ETCD_IP = "192.168.77.254";
const READY_MS = 20_000;
const KILL_AFTER_MS = 5_000;
const TAIL_LINES = 40;

interface Etcd {
  readonly ns: string;
  readonly dataDir: string;
  readonly url: string;
  readonly pki: EtcdPki | undefined;
  child: ChildProcess | undefined;
  exit: Promise<void>;
  output: string[];
  destroyed: boolean;
}

const etcds = new WeakMap<Underlay, Etcd>();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Our environment without ETCD_* / ETCDCTL_*, which etcd and etcdctl would read as flags. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD")));
}

/** PIDs of etcd processes in this process's own network namespace, i.e. not started by a lab. */
function etcdOutsideLabs(): number[] {
  const ours = readlinkSync("/proc/self/ns/net");
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, "utf8").trim() !== "etcd") continue;
      if (readlinkSync(`/proc/${name}/ns/net`) === ours) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function aptInstall(packages: readonly string[]): Promise<void> {
  process.stdout.write(`installing ${packages.join(" ")} (apt-get update; apt-get install)\n`);
  const apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y"];
  await must([...apt, "update"], { timeoutMs: 600_000 });
  await must([...apt, "install", ...packages], { timeoutMs: 600_000 });
}

async function ensureOpenssl(): Promise<void> {
  if (existsSync(OPENSSL)) return;
  await aptInstall(["openssl"]);
  if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} still missing`);
}

/**
 * Installs etcd-server and etcd-client when etcd is missing. The machine's policy-rc.d keeps the package
 * from starting its service; should one run in the root namespace anyway, it is the machine's business, so
 * it is reported, not killed.
 */
async function ensureEtcd(): Promise<void> {
  if (existsSync(ETCD) && existsSync(ETCDCTL)) return;
  await aptInstall(["etcd-server", "etcd-client"]);
  if (!existsSync(ETCD) || !existsSync(ETCDCTL)) throw new Error(`${ETCD} or ${ETCDCTL} still missing`);
  const stray = etcdOutsideLabs();
  if (stray.length > 0)
    process.stderr.write(
      `warning: etcd runs in the root network namespace after installing (PID ${stray.join(", ")}); left alone\n`,
    );
}

const running = (child: ChildProcess | undefined): boolean =>
  child?.exitCode === null && child.signalCode === null;

const tail = (e: Etcd): string => e.output.join("\n");

function health(e: Etcd): Promise<RunResult> {
  const tls = e.pki === undefined ? [] : ["--cacert", e.pki.ca, "--cert", e.pki.cert, "--key", e.pki.key];
  return run(
    [
      "env",
      "ETCDCTL_API=3",
      "ip",
      "netns",
      "exec",
      e.ns,
      ETCDCTL,
      "--endpoints",
      e.url,
      ...tls,
      "--dial-timeout",
      "1s",
      "--command-timeout",
      "2s",
      "endpoint",
      "health",
    ],
    { timeoutMs: 5_000 },
  );
}

async function launch(e: Etcd): Promise<void> {
  if (e.destroyed) throw new Error(`the underlay of ${e.ns} is destroyed`);
  if (running(e.child)) throw new Error(`etcd in ${e.ns} runs already (PID ${String(e.child?.pid)})`);
  e.output = [];
  const argv = [
    "netns",
    "exec",
    e.ns,
    // Should the test process die without destroy(), etcd stops too.
    "setpriv",
    "--pdeathsig",
    "TERM",
    ETCD,
    "--name",
    "default",
    "--data-dir",
    e.dataDir,
    "--listen-client-urls",
    e.url,
    "--advertise-client-urls",
    e.url,
    ...(e.pki === undefined
      ? []
      : [
          "--cert-file",
          e.pki.serverCert,
          "--key-file",
          e.pki.serverKey,
          "--trusted-ca-file",
          e.pki.ca,
          "--client-cert-auth",
        ]),
    "--listen-peer-urls",
    "http://127.0.0.1:2380",
    "--initial-advertise-peer-urls",
    "http://127.0.0.1:2380",
    "--initial-cluster",
    "default=http://127.0.0.1:2380",
  ];
  // ip netns exec and setpriv exec the next program: the child's PID is etcd's.
  const child = spawn("ip", argv, { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv() });
  e.child = child;
  // "close" rather than "exit": etcd's last words are read by then.
  e.exit = new Promise((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });
  if (child.pid === undefined) {
    e.child = undefined;
    await e.exit;
    throw new Error(`ip netns exec ${e.ns} ${ETCD} did not start`);
  }
  let partial = "";
  const collect = (b: Buffer): void => {
    const lines = (partial + b.toString()).split("\n");
    partial = lines.pop() ?? "";
    e.output.push(...lines);
    e.output.splice(0, Math.max(0, e.output.length - TAIL_LINES));
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);

  try {
    await waitHealthy(e, child);
  } catch (err) {
    await halt(e);
    throw err;
  }
}

async function waitHealthy(e: Etcd, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (!running(child)) {
      await e.exit;
      throw new Error(`etcd in ${e.ns} exited ${String(child.exitCode ?? child.signalCode)}:\n${tail(e)}`);
    }
    const r = await health(e);
    if (r.code === 0) return;
    if (Date.now() > deadline) {
      const said = (r.stderr || r.stdout).trim();
      throw new Error(`etcd in ${e.ns} not healthy within ${READY_MS} ms: ${said}\n${tail(e)}`);
    }
    await sleep(200);
  }
}

/** SIGTERM, then SIGKILL if it has not exited after KILL_AFTER_MS; waits for the exit. */
async function halt(e: Etcd): Promise<void> {
  const child = e.child;
  if (child === undefined || !running(child)) return;
  child.kill("SIGTERM");
  if (await settlesWithin(e.exit, KILL_AFTER_MS)) return;
  child.kill("SIGKILL");
  await e.exit;
}

function netnsNames(): string[] {
  try {
    return readdirSync("/run/netns");
  } catch {
    return [];
  }
}

function etcdOf(u: Underlay): Etcd {
  const e = etcds.get(u);
  if (e === undefined) throw new Error("not an underlay of createUnderlay()");
  return e;
}

/** Stops the underlay's etcd and waits for it to exit; its data stays for startEtcd(). */
/**
 * Counts, on the underlay's bridge, every packet to or from an address outside the underlay's own subnet
 * (link-local and multicast aside): the overlay must never send any.
 */
const UNDERLAY_WATCH = `
table bridge underlay_watch {
  counter stray {}
  chain watch {
    ether type ip ip saddr != 192.168.77.0/24 counter name "stray"
    ether type ip ip daddr != { 192.168.77.0/24, 224.0.0.0/4, 255.255.255.255 } counter name "stray"
    ether type ip6 ip6 saddr != { ::, fe80::/10 } counter name "stray"
    ether type ip6 ip6 daddr != { fe80::/10, ff02::/16 } counter name "stray"
  }
  chain forward { type filter hook forward priority 0; jump watch; }
  chain input { type filter hook input priority 0; jump watch; }
}
`;

/** How many packets the underlay carried to or from an address outside it, since it was made. */
export async function strayUnderlayPackets(u: Underlay): Promise<number> {
  const out = await must([
    "ip",
    "netns",
    "exec",
    u.ns,
    "nft",
    "-j",
    "list",
    "counter",
    "bridge",
    "underlay_watch",
    "stray",
  ]);
  const counter = (JSON.parse(out) as { nftables: { counter?: { packets: number } }[] }).nftables.find(
    (o) => o.counter !== undefined,
  )?.counter;
  if (counter === undefined) throw new Error(`no stray counter in the underlay ${u.prefix}`);
  return counter.packets;
}

export async function stopEtcd(u: Underlay): Promise<void> {
  await halt(etcdOf(u));
}

/**
 * A hostnetd on each of `hosts`, stopped by `cleanup`: with no default network, the host's own
 * `--host-address`, and `args` besides (the cluster's flags, say).
 */
export async function startHostDaemons(
  cleanup: Cleanup,
  hosts: readonly UnderlayHost[],
  args: readonly string[] = [],
): Promise<TestDaemon[]> {
  const started: TestDaemon[] = [];
  for (const host of hosts) {
    const daemon = await startDaemon(host.ns, [
      "--no-default-network",
      "--host-address",
      host.address,
      ...args,
    ]);
    cleanup.add(() => daemon.stop());
    started.push(daemon);
  }
  return started;
}

/** Starts the underlay's etcd again on the same data dir and waits until it is healthy. */
export async function startEtcd(u: Underlay): Promise<void> {
  await launch(etcdOf(u));
}

const SIGN_DAYS = "1";
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A self-signed CA in `dir`: ca.crt and ca.key. */
async function makeCa(dir: string): Promise<void> {
  await must([
    OPENSSL,
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
    "-days",
    SIGN_DAYS,
    "-subj",
    "/CN=hostnet test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
}

/** `<name>.crt` and `<name>.key` in `dir`, signed by the CA there. */
async function makeCertificate(
  dir: string,
  name: string,
  extensions: readonly string[],
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  await must([OPENSSL, "req", "-new", ...NEW_KEY, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  await must([
    OPENSSL,
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-set_serial",
    `0x${randomBytes(8).toString("hex")}`,
    "-days",
    SIGN_DAYS,
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

async function makePki(dir: string): Promise<EtcdPki> {
  mkdirSync(dir);
  await makeCa(dir);
  // etcd 3.4's gRPC gateway dials etcd with the server certificate, so it has to be a client's too.
  const server = await makeCertificate(dir, "etcd", [
    `subjectAltName=IP:${ETCD_IP}`,
    "extendedKeyUsage=serverAuth,clientAuth",
  ]);
  const client = await makeCertificate(dir, "hostnetd", ["extendedKeyUsage=clientAuth"]);
  return { ca: join(dir, "ca.crt"), serverCert: server.cert, serverKey: server.key, ...client };
}

/** `etcd: false` makes the underlay without etcd, for hosts whose overlay networks are their own. */
export async function createUnderlay(hostCount: number, opts?: { etcd?: boolean }): Promise<Underlay>;
/** etcd serves https and wants client certificates of a CA made for the underlay. */
export async function createUnderlay(hostCount: number, opts: { tls: true }): Promise<TlsUnderlay>;
export async function createUnderlay(
  hostCount: number,
  opts: { tls?: boolean; etcd?: boolean } = {},
): Promise<Underlay> {
  if (!Number.isInteger(hostCount) || hostCount < 1 || hostCount > 253)
    throw new Error(`hostCount ${hostCount} is not in 1..253`);
  const withEtcd = opts.etcd ?? true;
  if (withEtcd) await ensureEtcd();
  if (opts.tls === true) await ensureOpenssl();
  const prefix = `hno${randomBytes(3).toString("hex")}-`;
  const ul = `${prefix}ul`;
  const hosts = Array.from({ length: hostCount }, (_, i) => ({
    ns: `${prefix}h${i + 1}`,
    address: `192.168.77.${i + 1}`,
  }));
  // etcd's data and the PKI, so that destroy() removes both at once.
  const dir = mkdtempSync(join(tmpdir(), "hostnet-etcd-"));
  let pki: EtcdPki | undefined;
  try {
    pki = opts.tls === true ? await makePki(join(dir, "pki")) : undefined;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const e: Etcd = {
    ns: ul,
    dataDir: join(dir, "data"),
    url: `${pki === undefined ? "http" : "https"}://${ETCD_IP}:2379`,
    pki,
    child: undefined,
    exit: Promise.resolve(),
    output: [],
    destroyed: false,
  };

  const destroy = async (): Promise<void> => {
    e.destroyed = true;
    const errors: unknown[] = [];
    try {
      await halt(e);
    } catch (err) {
      errors.push(err);
    }
    await destroyPrefix(prefix);
    const left = netnsNames().filter((n) => n.startsWith(prefix));
    if (left.length > 0) errors.push(new Error(`namespaces left: ${left.join(", ")}`));
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      errors.push(err);
    }
    if (errors.length > 0) throw new AggregateError(errors, `underlay ${prefix} cleanup failed`);
  };
  const u: Underlay = {
    hosts,
    ns: ul,
    etcdUrl: e.url,
    prefix,
    destroy,
    ...(pki === undefined ? {} : { tls: { ca: pki.ca, cert: pki.cert, key: pki.key } }),
  };
  etcds.set(u, e);

  try {
    await must(["ip", "netns", "add", ul]);
    for (const h of hosts) await must(["ip", "netns", "add", h.ns]);
    const batchUl = [
      "link set lo up",
      "link add ul0 type bridge",
      `addr add ${ETCD_IP}/24 dev ul0`,
      "link set ul0 up",
      ...hosts.flatMap((h, i) => [
        `link add vh${i + 1} type veth peer name up0 netns ${h.ns}`,
        `link set vh${i + 1} master ul0`,
        `link set vh${i + 1} up`,
      ]),
    ];
    await must(["ip", "-n", ul, "-batch", "-"], { input: `${batchUl.join("\n")}\n` });
    for (const h of hosts) {
      const batchHost = ["link set lo up", `addr add ${h.address}/24 dev up0`, "link set up0 up"];
      await must(["ip", "-n", h.ns, "-batch", "-"], { input: `${batchHost.join("\n")}\n` });
      await must(["ip", "netns", "exec", h.ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    }
    await must(["ip", "netns", "exec", ul, "nft", "-f", "-"], { input: UNDERLAY_WATCH });
    if (withEtcd) await launch(e);
  } catch (err) {
    return await failAfterCleanup(err, destroy, "the underlay");
  }
  return u;
}
