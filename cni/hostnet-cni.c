/*
 * hostnet-cni: the CNI plugin executable. Runtimes exec a plugin for every call, so its start-up is on the
 * critical path of every container start; a Node process would cost tens of milliseconds before doing
 * anything. So all of the protocol lives in hostnetd and this static C program only relays:
 *
 *   request:  POST /cni HTTP/1.1 on hostnetd's unix socket, body {"env":{"CNI_COMMAND":...},"stdin":"..."}
 *   response: 200 with header Hostnet-Cni-Exit: <0..255>; the body is what the plugin prints on stdout.
 *
 * Anything else (hostnetd down, another status, no exit header) becomes a CNI error on stdout and exit
 * status 1, as the spec asks of a plugin. See src/api/cni/route.ts for the daemon's side.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_STDIN ((size_t)16 << 20)
#define DEFAULT_SOCKET "/run/hostnet/hostnet.sock"
#define TIMEOUT_SECONDS 120
#define DETAILS_MAX 200
/* The spec's error codes: I/O failure, decoding failure, try again later, plugin not available (STATUS). */
#define CNI_IO_FAILURE 5
#define CNI_DECODE_FAILURE 6
#define CNI_TRY_AGAIN_LATER 11
#define CNI_NOT_AVAILABLE 50

/*
 * VERSION is answered here: runtimes ask it while validating a configuration, before any call carries the
 * configuration's "socket" (podman sends only {"cniVersion": ...}). Must equal src/api/cni/versions.ts,
 * which test/unit/api/cni/shim.test.ts checks.
 */
static const char *const SUPPORTED_VERSIONS[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
#define LATEST_VERSION "1.1.0"

/* The CNI_* variables the spec defines for a plugin, relayed when set. */
static const char *const CNI_VARS[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
                                       "CNI_IFNAME",  "CNI_ARGS",        "CNI_PATH"};

/* A growable byte buffer, always NUL-terminated once anything was reserved. */
struct buf {
    char *data;
    size_t len, cap;
};

/* All of stdin: the error path reads the configuration's cniVersion from it. */
static struct buf input;

static void reserve(struct buf *b, size_t extra) {
    if (b->cap - b->len > extra) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= extra) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        fputs("hostnet-cni: out of memory\n", stderr);
        exit(1);
    }
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
}

static void append(struct buf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void append_str(struct buf *b, const char *s) { append(b, s, strlen(s)); }

/* Appends s as a JSON string. Bytes from 0x80 pass through: the configuration is UTF-8 already. */
static void append_json(struct buf *b, const char *s, size_t n) {
    size_t run = 0;
    append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20) continue;
        char esc[8];
        append(b, s + run, i - run);
        if (c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c);
        else snprintf(esc, sizeof esc, "\\%c", c);
        append_str(b, esc);
        run = i + 1;
    }
    append(b, s + run, n - run);
    append(b, "\"", 1);
}

/* Reads fd to EOF; false with errno set, EFBIG past limit. A timeout reads as ETIMEDOUT, not EAGAIN. */
static bool read_all(int fd, struct buf *b, size_t limit) {
    for (;;) {
        reserve(b, 65536);
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n == 0) return true;
        if (n < 0 && errno == EINTR) continue; /* a stop and SIGCONT interrupt reads with a timeout */
        if (n < 0) {
            if (errno == EAGAIN) errno = ETIMEDOUT;
            return false;
        }
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        if (b->len > limit) {
            errno = EFBIG;
            return false;
        }
    }
}

static bool write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            if (errno == EAGAIN) errno = ETIMEDOUT;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/*
 * Decodes the inside of a JSON string literal into a new string; NULL for an escape other than the
 * one-character ones. \uXXXX is not decoded: encoders write it for control characters and (Go's) for
 * < > &, none of which belongs in a socket path or a version.
 */
static char *unescape(const char *s, size_t n) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    struct buf b = {0};
    reserve(&b, n);
    for (size_t i = 0; i < n; i++) {
        const char *k = NULL;
        if (s[i] == '\\' && (++i == n || s[i] == '\0' || !(k = strchr(from, s[i])))) {
            free(b.data);
            return NULL;
        }
        append(&b, k ? to + (k - from) : s + i, 1);
    }
    return b.data;
}

/* The index of the quote closing the JSON string whose contents start at s[i], or n when unterminated. */
static size_t string_end(const char *s, size_t n, size_t i) {
    while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
    return i < n ? i : n;
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/*
 * The decoded string value of the key `key` of the top-level JSON object in s; NULL when absent, not a
 * string, or not decodable. Not a validating parser: it follows just enough structure (nesting depth,
 * strings and their escapes) that a key of a nested object, or a string value that looks like a key, is
 * never taken. Keys are compared as written.
 */
static char *top_level_string(const char *s, size_t n, const char *key) {
    size_t i = skip_ws(s, n, 0), key_len = strlen(key);
    if (i == n || s[i] != '{') return NULL;
    int depth = 0;
    bool want_key = false;
    for (; i < n; i++) {
        if (s[i] == '"') {
            size_t end = string_end(s, n, i + 1);
            if (end == n) return NULL;
            if (depth == 1 && want_key && end - i - 1 == key_len && memcmp(s + i + 1, key, key_len) == 0) {
                size_t v = skip_ws(s, n, end + 1);
                if (v == n || s[v] != ':') return NULL;
                v = skip_ws(s, n, v + 1);
                if (v == n || s[v] != '"') return NULL;
                size_t v_end = string_end(s, n, v + 1);
                return v_end == n ? NULL : unescape(s + v + 1, v_end - v - 1);
            }
            want_key = false;
            i = end;
        } else if (s[i] == '{' || s[i] == '[') {
            want_key = ++depth == 1; /* only the top-level object's '{' opens depth 1 */
        } else if (s[i] == '}' || s[i] == ']') {
            if (--depth == 0) return NULL;
        } else if (s[i] == ',' && depth == 1) {
            want_key = true;
        }
    }
    return NULL;
}

static bool json_value(const char *s, size_t n, size_t *i, int depth);

/* A JSON string at s[*i] (RFC 8259: no raw control characters, only the defined escapes). */
static bool json_string(const char *s, size_t n, size_t *i) {
    if (*i == n || s[*i] != '"') return false;
    for (++*i; *i < n && s[*i] != '"'; ++*i) {
        if ((unsigned char)s[*i] < 0x20) return false;
        if (s[*i] != '\\') continue;
        if (++*i == n) return false;
        if (s[*i] == 'u') {
            for (int k = 0; k < 4; k++)
                if (++*i == n || !isxdigit((unsigned char)s[*i])) return false;
        } else if (!strchr("\"\\/bfnrt", s[*i]) || s[*i] == '\0') {
            return false;
        }
    }
    if (*i == n) return false;
    ++*i;
    return true;
}

static size_t digits(const char *s, size_t n, size_t i) {
    while (i < n && isdigit((unsigned char)s[i])) i++;
    return i;
}

/* A JSON number at s[*i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n, size_t *i) {
    size_t j = *i + (*i < n && s[*i] == '-');
    if (j == n || !isdigit((unsigned char)s[j])) return false;
    j = s[j] == '0' ? j + 1 : digits(s, n, j);
    if (j < n && s[j] == '.') {
        size_t k = digits(s, n, j + 1);
        if (k == j + 1) return false;
        j = k;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        j += 1 + (j + 1 < n && (s[j + 1] == '+' || s[j + 1] == '-'));
        size_t k = digits(s, n, j);
        if (k == j) return false;
        j = k;
    }
    *i = j;
    return true;
}

/* The members of an object or the elements of an array whose opening bracket is at s[*i]. */
static bool json_container(const char *s, size_t n, size_t *i, int depth) {
    char close = s[*i] == '{' ? '}' : ']';
    *i = skip_ws(s, n, *i + 1);
    bool first = true;
    for (;; first = false) {
        if (first && *i < n && s[*i] == close) break;
        if (close == '}') {
            if (!json_string(s, n, i)) return false;
            *i = skip_ws(s, n, *i);
            if (*i == n || s[*i] != ':') return false;
            ++*i;
        }
        if (!json_value(s, n, i, depth + 1)) return false;
        *i = skip_ws(s, n, *i);
        if (*i == n) return false;
        if (s[*i] == close) break;
        if (s[*i] != ',') return false;
        *i = skip_ws(s, n, *i + 1);
    }
    ++*i;
    return true;
}

/* One JSON value at s[*i] (after white space), advancing *i past it; nesting past 1000 counts as invalid. */
static bool json_value(const char *s, size_t n, size_t *i, int depth) {
    static const char *const literals[] = {"true", "false", "null"};
    *i = skip_ws(s, n, *i);
    if (*i == n || depth > 1000) return false;
    if (s[*i] == '{' || s[*i] == '[') return json_container(s, n, i, depth);
    if (s[*i] == '"') return json_string(s, n, i);
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(literals[k]);
        if (n - *i >= len && memcmp(s + *i, literals[k], len) == 0) {
            *i += len;
            return true;
        }
    }
    return json_number(s, n, i);
}

/*
 * Whether the configuration is one JSON object: asked only when hostnetd cannot be reached, so that a
 * configuration that is not JSON is reported as such (6) even when it cannot name hostnetd's socket.
 */
static bool is_json_object(const char *s, size_t n) {
    size_t i = skip_ws(s, n, 0);
    if (i == n || s[i] != '{' || !json_value(s, n, &i, 0)) return false;
    return skip_ws(s, n, i) == n;
}

/* Prints a CNI error on stdout and exits 1; details are cut to DETAILS_MAX bytes, on a UTF-8 boundary. */
static _Noreturn void fail(int code, const char *msg, const char *details, size_t details_len) {
    const char *version = top_level_string(input.data, input.len, "cniVersion");
    char num[48];
    struct buf out = {0};
    if (!version) version = "1.0.0";
    if (details_len > DETAILS_MAX) {
        details_len = DETAILS_MAX;
        while (details_len > 0 && ((unsigned char)details[details_len] & 0xc0) == 0x80) details_len--;
    }
    append_str(&out, "{\"cniVersion\":");
    append_json(&out, version, strlen(version));
    snprintf(num, sizeof num, ",\"code\":%d,\"msg\":", code);
    append_str(&out, num);
    append_json(&out, msg, strlen(msg));
    append_str(&out, ",\"details\":");
    append_json(&out, details, details_len);
    append_str(&out, "}\n");
    write_all(STDOUT_FILENO, out.data, out.len);
    exit(1);
}

/*
 * Sends the request and reads the whole response; false with errno set. The socket is left for exit to
 * close: the process ends right after.
 */
static bool exchange(const char *path, const char *head, const struct buf *body, struct buf *response) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    /* A hung hostnetd must not hang the runtime forever; the send timeout also bounds connect. */
    struct timeval tv = {.tv_sec = TIMEOUT_SECONDS};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return false;
    int rc;
    do rc = connect(fd, (const struct sockaddr *)&addr, sizeof addr);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        if (errno == EAGAIN) errno = ETIMEDOUT; /* the listen backlog stayed full */
        return false;
    }
    bool sent = write_all(fd, head, strlen(head)) && write_all(fd, body->data, body->len);
    if (sent) return read_all(fd, response, SIZE_MAX);
    /*
     * hostnetd may refuse a request (413, say) and close before reading it all: its answer still counts.
     * Closing with our bytes unread also resets the connection, so the read that follows the answer may
     * fail; what arrived before it is the answer (relay checks that it is whole).
     */
    int send_errno = errno;
    bool closed = send_errno == EPIPE || send_errno == ECONNRESET;
    if (closed) {
        read_all(fd, response, SIZE_MAX);
        if (response->len > 0) return true;
    }
    errno = send_errno;
    return false;
}

/* The value of header `name` on the header line at p (names compare case-insensitively), or NULL. */
static const char *header(const char *p, const char *name) {
    size_t len = strlen(name);
    if (strncasecmp(p, name, len) != 0 || p[len] != ':') return NULL;
    p += len + 1;
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* The decimal header value at v, if it is one and at most max; else -1. */
static long long number(const char *v, long long max) {
    char *end;
    if (!isdigit((unsigned char)*v)) return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    while (*end == ' ' || *end == '\t') end++;
    return errno == 0 && *end == '\r' && n <= (unsigned long long)max ? (long long)n : -1;
}

/*
 * Decodes a chunked body in place (chunk extensions and trailers ignored); its length, or -1 when it is
 * malformed or cut short. Node answers chunked whenever a handler sends headers before its body.
 */
static long long dechunk(char *s, size_t n) {
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in == n || !isxdigit((unsigned char)s[in])) return -1;
        errno = 0;
        unsigned long long size = strtoull(s + in, &end, 16);
        const char *eol = memmem(end, n - (size_t)(end - s), "\r\n", 2);
        if (errno != 0 || !eol) return -1;
        in = (size_t)(eol - s) + 2;
        if (size == 0) return (long long)out;
        if (size > n - in || n - in - size < 2 || memcmp(s + in + size, "\r\n", 2) != 0) return -1;
        memmove(s + out, s + in, size);
        out += size;
        in += size + 2;
    }
}

/* Relays a response: its body to stdout, its Hostnet-Cni-Exit as the exit status. */
static int relay(struct buf *r) {
    char *end = memmem(r->data, r->len, "\r\n\r\n", 4);
    int status;
    if (!end || sscanf(r->data, "HTTP/1.%*c %3d", &status) != 1)
        fail(CNI_TRY_AGAIN_LATER, "hostnetd sent a malformed HTTP response", r->data, r->len);
    char *body = end + 4;
    size_t available = r->len - (size_t)(body - r->data);
    long long exit_code = -1, length = (long long)available; /* no Content-Length: up to EOF */
    bool chunked = false;
    const char *v;
    /* Each header line ends in \r\n; the last one's is the first half of end. */
    for (const char *p = (const char *)memmem(r->data, r->len, "\r\n", 2) + 2; p < end;
         p = (const char *)memmem(p, (size_t)(end + 2 - p), "\r\n", 2) + 2) {
        if ((v = header(p, "Hostnet-Cni-Exit"))) exit_code = number(v, 255);
        else if ((v = header(p, "Content-Length"))) length = number(v, (long long)available);
        else if (header(p, "Transfer-Encoding")) chunked = true; /* in HTTP/1.1, chunked is then the last */
    }
    if (chunked) length = dechunk(body, available);
    if (length < 0) fail(CNI_TRY_AGAIN_LATER, "hostnetd sent a malformed HTTP response", r->data, r->len);
    if (status != 200 || exit_code < 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "hostnetd answered HTTP %d", status);
        fail(CNI_TRY_AGAIN_LATER, msg, body, (size_t)length);
    }
    return write_all(STDOUT_FILENO, body, (size_t)length) ? (int)exit_code : 1;
}

int main(void) {
    /* Writing to a peer that closed must fail with EPIPE, reported as a CNI error, not kill the shim. */
    signal(SIGPIPE, SIG_IGN);
    if (!read_all(STDIN_FILENO, &input, MAX_STDIN)) {
        const char *why = errno == EFBIG ? "larger than 16 MiB" : strerror(errno);
        fail(CNI_IO_FAILURE, "cannot read the network configuration from stdin", why, strlen(why));
    }

    const char *command = getenv("CNI_COMMAND");
    if (command && strcmp(command, "VERSION") == 0) {
        const char *asked = top_level_string(input.data, input.len, "cniVersion");
        const char *answer = LATEST_VERSION;
        size_t count = sizeof SUPPORTED_VERSIONS / sizeof *SUPPORTED_VERSIONS;
        for (size_t i = 0; asked && i < count; i++)
            if (strcmp(asked, SUPPORTED_VERSIONS[i]) == 0) answer = SUPPORTED_VERSIONS[i];
        printf("{\"cniVersion\":\"%s\",\"supportedVersions\":[", answer);
        for (size_t i = 0; i < count; i++) printf("%s\"%s\"", i ? "," : "", SUPPORTED_VERSIONS[i]);
        printf("]}\n");
        return 0;
    }

    /* The configuration's "socket" wins over the environment, so that one configuration names its daemon. */
    const char *path = top_level_string(input.data, input.len, "socket");
    if (!path || !*path) path = getenv("HOSTNET_SOCKET");
    if (!path || !*path) path = DEFAULT_SOCKET;

    struct buf body = {0}, response = {0};
    const char *sep = "";
    append_str(&body, "{\"env\":{");
    for (size_t i = 0; i < sizeof CNI_VARS / sizeof *CNI_VARS; i++) {
        const char *value = getenv(CNI_VARS[i]);
        if (!value) continue;
        append_str(&body, sep);
        append_json(&body, CNI_VARS[i], strlen(CNI_VARS[i]));
        append_str(&body, ":");
        append_json(&body, value, strlen(value));
        sep = ",";
    }
    append_str(&body, "},\"stdin\":");
    append_json(&body, input.data, input.len);
    append_str(&body, "}");

    char head[160];
    snprintf(head, sizeof head,
             "POST /cni HTTP/1.1\r\nHost: hostnet\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             body.len);

    if (!exchange(path, head, &body, &response)) {
        if (!is_json_object(input.data, input.len)) {
            const char *why = "not one JSON object";
            fail(CNI_DECODE_FAILURE, "the network configuration on stdin is not JSON", why, strlen(why));
        }
        struct buf details = {0};
        append_str(&details, path);
        append_str(&details, ": ");
        append_str(&details, strerror(errno));
        fail(command && strcmp(command, "STATUS") == 0 ? CNI_NOT_AVAILABLE : CNI_TRY_AGAIN_LATER,
             "hostnetd is not reachable", details.data, details.len);
    }
    return relay(&response);
}
