/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records how far
 * a database has come. Append only: a released migration never changes.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    short_id TEXT NOT NULL UNIQUE,
    mtu INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE subnets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    family INTEGER NOT NULL,
    prefix TEXT NOT NULL,
    gateway TEXT NOT NULL,
    next_offset TEXT NOT NULL DEFAULT '0'
  );
  CREATE TABLE namespaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL UNIQUE,
    owned INTEGER NOT NULL
  );
  CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    network_id TEXT NOT NULL REFERENCES networks(id),
    short_id TEXT NOT NULL UNIQUE,
    mac TEXT NOT NULL,
    namespace_id TEXT REFERENCES namespaces(id),
    ifname TEXT
  );
  CREATE UNIQUE INDEX endpoints_attachment ON endpoints(namespace_id, ifname) WHERE namespace_id IS NOT NULL;
  CREATE INDEX endpoints_network ON endpoints(network_id);
  CREATE TABLE addresses (
    subnet_id INTEGER NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    PRIMARY KEY (subnet_id, address)
  );
  CREATE INDEX addresses_endpoint ON addresses(endpoint_id);
  CREATE TABLE port_mappings (
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    protocol TEXT NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    internal_port INTEGER NOT NULL,
    PRIMARY KEY (protocol, host_port, host_ip)
  );
  CREATE INDEX port_mappings_endpoint ON port_mappings(endpoint_id);
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE endpoint_policies (
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    policy TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, seq)
  );
  ALTER TABLE networks ADD COLUMN inter_container INTEGER NOT NULL DEFAULT 1;
  `,
  `
  ALTER TABLE networks ADD COLUMN policies TEXT NOT NULL DEFAULT '[]';
  `,
  `
  CREATE TABLE endpoint_origins (
    endpoint_id TEXT PRIMARY KEY REFERENCES endpoints(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    UNIQUE (kind, key)
  );
  `,
  `
  ALTER TABLE endpoints ADD COLUMN handoff_sandbox TEXT;
  CREATE TABLE network_origins (
    network_id TEXT PRIMARY KEY REFERENCES networks(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    UNIQUE (kind, key)
  );
  CREATE TABLE docker_ipam_pools (
    id TEXT PRIMARY KEY,
    address_space TEXT NOT NULL,
    pool TEXT NOT NULL,
    sub_pool TEXT NOT NULL,
    refs INTEGER NOT NULL
  );
  CREATE TABLE docker_ipam_addresses (
    pool_id TEXT NOT NULL REFERENCES docker_ipam_pools(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    PRIMARY KEY (pool_id, address)
  );
  `,
  `
  ALTER TABLE networks ADD COLUMN adapter TEXT;
  ALTER TABLE networks ADD COLUMN uplink TEXT;
  ALTER TABLE networks ADD COLUMN ipam TEXT NOT NULL DEFAULT 'static';
  CREATE TABLE uplink_restores (
    dev TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE load_balancers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    vips TEXT NOT NULL,
    port_mappings TEXT NOT NULL,
    internal INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE lb_backends (
    lb_id TEXT NOT NULL REFERENCES load_balancers(id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    PRIMARY KEY (lb_id, endpoint_id)
  );
  CREATE INDEX lb_backends_endpoint ON lb_backends(endpoint_id);
  `,
  `
  ALTER TABLE load_balancers ADD COLUMN source_vip TEXT;
  `,
  `
  ALTER TABLE load_balancers ADD COLUMN dsr INTEGER NOT NULL DEFAULT 0;
  `,
  `
  ALTER TABLE networks ADD COLUMN overlay TEXT;
  ALTER TABLE endpoints ADD COLUMN remote_host TEXT;
  `,
  `
  CREATE TABLE overlay_blocks (
    network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    PRIMARY KEY (network_id, prefix)
  );
  `,
  `
  ALTER TABLE docker_ipam_pools ADD COLUMN next_offset TEXT NOT NULL DEFAULT '0';
  `,
  `
  ALTER TABLE endpoints ADD COLUMN detached_reason TEXT;
  `,
  `
  ALTER TABLE networks ADD COLUMN dns TEXT;
  ALTER TABLE networks ADD COLUMN resolver INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE endpoints ADD COLUMN dns TEXT;
  CREATE INDEX endpoints_dns_name ON endpoints(network_id, name COLLATE NOCASE);
  CREATE TABLE endpoint_aliases (
    network_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    PRIMARY KEY (network_id, alias)
  );
  CREATE INDEX endpoint_aliases_endpoint ON endpoint_aliases(endpoint_id);
  `,
  // Endpoints attached before attach order was kept are ranked in the order they were made.
  `
  ALTER TABLE endpoints ADD COLUMN gateway_priority INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE endpoints ADD COLUMN attach_order INTEGER;
  UPDATE endpoints SET attach_order = (
    SELECT COUNT(*) FROM endpoints AS e WHERE e.namespace_id = endpoints.namespace_id AND e.rowid <= endpoints.rowid
  ) WHERE namespace_id IS NOT NULL;
  `,
  `
  ALTER TABLE load_balancers ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0;
  `,
  // A routed overlay's remote endpoint has its address in a remote subnet, of no subnet of its network.
  `
  CREATE TABLE remote_addresses (
    endpoint_id TEXT PRIMARY KEY REFERENCES endpoints(id) ON DELETE CASCADE,
    network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    prefix_length INTEGER NOT NULL,
    UNIQUE (network_id, address)
  );
  `,
  // Affinity timed out after hostnetd's --lb-affinity-timeout for every load balancer: 10800 s unless told.
  `
  ALTER TABLE load_balancers ADD COLUMN affinity_timeout INTEGER;
  UPDATE load_balancers SET affinity_timeout = 10800 WHERE port_mappings LIKE '%"affinity":true%';
  `,
  // The event stream's history (store/events.ts); AUTOINCREMENT so that a sequence number is never reused.
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    object_id TEXT NOT NULL,
    name TEXT NOT NULL,
    cause TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX events_time ON events(time);
  `,
];
