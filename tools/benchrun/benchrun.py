#!/usr/bin/env python3
"""smpp-benchrun: the benchmark harness of smppgw (docs/benchmarks.md).

Runs smpp-bench against three targets on 127.0.0.1, interleaved and repeated (rep-major):

  direct   smpp-bench -> smpp-mcsim
  uvpure   smpp-bench -> smpp-relay -> smpp-mcsim   (a pure libuv byte relay: any proxy's ceiling)
  gateway  smpp-bench -> smppgw     -> smpp-mcsim

Fresh processes for every run. For each run it records the bench's report (throughput, latency
percentiles, receipts), the CPU time every process used during the run (/proc/PID/stat), the
middle process's loop counters (reads, writes, loop iterations: smpp-relay --stats-file and the
gateway's SMPPGW_STATS_FILE), and how busy the whole machine was (/proc/stat): what the three
processes did not use is "foreign" CPU, and a run with more than --noise-threshold % of one core of
it is flagged noisy. It prints medians, min-max and the ratios of shared/docs/performance.md C.2,
for all runs and for quiet runs only, and writes every run as a JSON line plus a summary JSON.

Profiles: smoke (CI, ~1 min), ratios, g8, full (the whole matrix), tls (plaintext vs TLS gateway),
cg (callgrind instruction counts: G1/G2/G3), memory (resident size with 10,000 idle bound
sessions), restart (the embedded store filled with N mappings, the gateway killed with SIGKILL and
started again on it: time to serve, time to the first receipt owed across the restart).

TLS (--tls on|both, and the tls profile): a throwaway PKI is generated into the results directory
with the openssl command (a CA, a certificate for 127.0.0.1/localhost); direct-tls runs
smpp-bench --tls against smpp-mcsim --tls-cert/--tls-key, gateway-tls puts TLS on the gateway's
listener and on its upstream to that smpp-mcsim. If smppgw or smpp-mcsim refuses the TLS
configuration or flags (a build without them), the TLS runs are reported as skipped, with the
reason, and do not fail the invocation.

Store (--store embedded|sync|all): config variants of the gateway with the durable store
(store.type embedded, RocksDB): gateway-store (sync false) and gateway-store-sync (sync true), each
with a fresh store directory per run inside the run's directory, run next to gateway (memory
store) in every rep; with --compare-smppgw also gateway-b-store(-sync), if that binary takes
store.type embedded (`smppgw check-config`), else they are skipped with the reason. The store
variants enable the gateway's metrics (127.0.0.1, port 0: the second line of its port file) and
scrape them before and after the load; the report gives, per rep against gateway: throughput ratio
(flagged below 0.8), added p50/p99, CPU per round trip and its difference, bytes handed to the
store per message and the store's size on disk per million messages.

Exit code: 0 if every run worked (every request answered, every receipt arrived, clean exits),
1 otherwise, 2 on a usage error. The figures never decide the exit code.

Python 3 standard library only.
"""

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
CONFIGS = ("direct", "uvpure", "gateway", "gateway-b",  # gateway-b: --compare-smppgw
           "direct-tls", "gateway-tls", "gateway-b-tls",  # -tls: TLS on every SMPP hop
           # -store: the durable store (store.type embedded, sync false); -store-sync: sync true
           "gateway-store", "gateway-store-sync", "gateway-b-store", "gateway-b-store-sync")
TLS_VARIANTS = {"direct": "direct-tls", "gateway": "gateway-tls", "gateway-b": "gateway-b-tls"}
STORE_SUFFIXES = {"embedded": ["-store"], "sync": ["-store-sync"],
                  "all": ["-store", "-store-sync"]}
# (store variant, its memory-store baseline, prefix of its keys in the per-rep ratios)
STORE_PAIRS = (("gateway-store", "gateway", "STORE"),
               ("gateway-store-sync", "gateway", "STORE_SYNC"),
               ("gateway-b-store", "gateway-b", "B_STORE"),
               ("gateway-b-store-sync", "gateway-b", "B_STORE_SYNC"))
STORE_FLOOR = 0.8  # throughput with the store / without it, below which the report flags it


def store_kind(config):
    """None (memory store), "embedded" (sync false) or "sync" (sync true)."""
    if config.endswith("-store-sync"):
        return "sync"
    if config.endswith("-store"):
        return "embedded"
    return None


def base_config(config):
    """direct, uvpure, gateway or gateway-b: the config without its -tls/-store suffix."""
    for suffix in ("-tls", "-store-sync", "-store"):
        if config.endswith(suffix):
            return config[:-len(suffix)]
    return config

# ---------------------------------------------------------------------------------------------
# Profiles: each is a list of matrices; reps are interleaved across them (rep-major).


def matrix(mixes, windows, binds, modes, reps, duration):
    return {"mixes": list(mixes), "windows": list(windows), "binds": list(binds),
            "modes": list(modes), "reps": reps, "duration": duration}


PROFILES = {
    # CI: does every path run, and is every request answered? (figures are not checked)
    "smoke": [matrix(["minimal"], [1, 100], [1], ["closed"], 2, 1.5),
              matrix(["realistic"], [10], [1], ["closed", "open50"], 1, 1.5)],
    # G4-G7: minimal mix, 1 bind, closed loop, windows 1/10/100.
    "ratios": [matrix(["minimal"], [1, 10, 100], [1], ["closed"], 5, 3.0)],
    # G8: realistic mix (receipts on every message, 2 % MO), 4 binds x window 10.
    "g8": [matrix(["realistic"], [10], [4], ["closed"], 5, 5.0)],
    # Plaintext vs TLS gateway (configs gateway,gateway-tls): 1 x W1 and 1 x W100 minimal (as in
    # ratios), 4 x W10 realistic with receipts (as in g8).
    "tls": [matrix(["minimal"], [1, 100], [1], ["closed"], 5, 3.0),
            matrix(["realistic"], [10], [4], ["closed"], 5, 5.0)],
    # The whole matrix of shared/docs/performance.md.
    "full": [matrix(["minimal", "realistic"], [1, 10, 100], [1, 4],
                    ["closed", "open50", "open80"], 5, 3.0)],
}
SPECIAL_PROFILES = ("cg", "memory", "restart")

# Targets of performance.md C.2 evaluated from the runs.
G_TARGETS = {
    "G4": "syscalls per round trip / uvpure: W=1 equal (<= 1.05), W=100 <= 1.2",
    "G5": "CPU per round trip / uvpure: W=1 <= 1.3, W=100 <= 2.0",
    "G6": "throughput / uvpure: W=1,10 >= 0.8, W=100 >= 0.6",
    "G7": "added p50 latency / uvpure's added p50 latency, W=1: <= 1.5",
    "G8": ">= 50,000 submit_sm/s, realistic mix, 4 binds x W=10, receipts on",
}

# ---------------------------------------------------------------------------------------------
# Processes: every child is ours, tracked by PID, stopped by PID, never by name.

_children = []


class Proc:
    def __init__(self, name, argv, rundir, env=None, nofile=None):
        self.name = name
        self.out_path = os.path.join(rundir, name + ".out")
        self.err_path = os.path.join(rundir, name + ".err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            preexec = None
            if nofile:
                def preexec():
                    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                    want = min(nofile, hard) if hard != resource.RLIM_INFINITY else nofile
                    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
            self.p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                      env=env, preexec_fn=preexec)
        self.pid = self.p.pid
        _children.append(self)

    def running(self):
        return self.p.poll() is None

    def sample(self):
        """(user_s, sys_s, minor page faults) so far, from /proc/PID/stat; None once gone."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) / HZ, int(fields[12]) / HZ, int(fields[7])
        except (OSError, IndexError, ValueError):
            return None

    def cpu_s(self):
        s = self.sample()
        return None if s is None else s[0] + s[1]

    def rss_kb(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signals the process and waits; SIGKILL after `timeout`. Returns the exit code."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.p.send_signal(sig)
            if self.wait(timeout) is None:
                with contextlib.suppress(ProcessLookupError):
                    self.p.kill()
                self.p.wait()
        if self in _children:
            _children.remove(self)
        return self.p.returncode

    def out(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def err(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()


def kill_children():
    for c in list(_children):
        with contextlib.suppress(Exception):
            c.stop(signal.SIGKILL, 5)


class RunError(Exception):
    pass


class SkipRun(Exception):
    """The binary under test refuses TLS (not built in): the run is skipped, not failed."""


def wait_until(pred, timeout, what, procs=()):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        for p in procs:
            if not p.running():
                raise RunError("%s exited (code %s) while waiting for %s: %s" %
                               (p.name, p.p.returncode, what, p.err()[-400:]))
        if time.monotonic() >= deadline:
            raise RunError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.005)


def read_port(path):
    """The first line of a port file (smppgw adds a second one: its metrics port)."""
    try:
        with open(path) as f:
            text = f.read()
        if not text.endswith("\n"):
            return None  # written by rename, but be safe against a partial file
        return int(text.split()[0])
    except (OSError, ValueError):
        return None


def read_ports(path):
    """Every line of a port file as integers (smppgw: the listener's port, then the metrics
    port when metrics are enabled); None until it is complete."""
    try:
        with open(path) as f:
            text = f.read()
        if not text.endswith("\n"):
            return None
        return [int(x) for x in text.split()]
    except (OSError, ValueError):
        return None


def scrape_metrics(port, timeout=5.0):
    """{series: value} from the gateway's Prometheus text at 127.0.0.1:PORT/metrics; a series is
    named as printed, e.g. 'smppgw_store_writes_total{result="ok"}'."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        text = r.read().decode("utf-8", "replace")
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def dir_sizes(path):
    """(what `du` gives: the blocks the directory's files take on disk, what `du
    --apparent-size` gives: the sum of their sizes), in bytes. They differ by what is
    preallocated (RocksDB's log files) or sparse."""
    blocks = apparent = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(root, name))
                blocks += st.st_blocks * 512
                apparent += st.st_size
    return blocks, apparent


STORE_SERIES = {"writes_ok": 'smppgw_store_writes_total{result="ok"}',
                "writes_failed": 'smppgw_store_writes_total{result="failed"}',
                "batches": "smppgw_store_batches_total",
                "written_bytes": "smppgw_store_written_bytes_total",
                "lookups_found": 'smppgw_store_lookups_total{result="found"}',
                "lookups_missing": 'smppgw_store_lookups_total{result="missing"}'}
STORE_GAUGES = {"backlog": "smppgw_store_backlog", "disk_bytes_metric": "smppgw_store_disk_bytes",
                "mappings_in_memory": "smppgw_store_mappings"}


def store_open_info(log_text):
    """(ms, newest_id, waiting) of the gateway's `event=store_opened` log line, or Nones."""
    m = re.search(r"event=store_opened .*?\bnewest_id=(\d+).*?\bwaiting=(\d+).*?\bms=(\d+)",
                  log_text)
    if not m:
        m2 = re.search(r"event=store_opened .*?\bms=(\d+)", log_text)
        return (int(m2.group(1)) if m2 else None), None, None
    return int(m.group(3)), int(m.group(1)), int(m.group(2))


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def proc_stat():
    """(busy, softirq, steal, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, softirq, steal, busy + idle + iowait


# ---------------------------------------------------------------------------------------------
# The three targets.


class Binaries:
    def __init__(self, build_dir):
        here = os.path.dirname(os.path.abspath(__file__))
        cands = []
        if build_dir:
            cands.append(("build", build_dir))
        # Run from the build tree (BUILD/tools/benchrun/smpp-benchrun) or the source tree.
        cands.append(("build", os.path.normpath(os.path.join(here, "..", ".."))))
        cands.append(("build", os.path.normpath(os.path.join(here, "..", "..", "build"))))
        cands.append(("flat", here))  # installed: bin/ next to smppgw
        layout = {"build": {"smppgw": "gateway/smppgw", "mcsim": "tools/mcsim/smpp-mcsim",
                            "bench": "tools/bench/smpp-bench", "relay": "tools/relay/smpp-relay"},
                  "flat": {"smppgw": "smppgw", "mcsim": "smpp-mcsim", "bench": "smpp-bench",
                           "relay": "smpp-relay"}}
        for kind, base in cands:
            paths = {k: os.path.join(base, v) for k, v in layout[kind].items()}
            if all(os.access(p, os.X_OK) for p in paths.values()):
                self.__dict__.update(paths)
                self.base = base
                return
            if kind == "build" and build_dir and base == build_dir:
                missing = [p for p in paths.values() if not os.access(p, os.X_OK)]
                raise SystemExit("smpp-benchrun: missing in %s: %s (build the targets smppgw "
                                 "smpp-mcsim smpp-bench smpp-relay)" %
                                 (build_dir, " ".join(missing)))
        raise SystemExit("smpp-benchrun: cannot find smppgw/smpp-mcsim/smpp-bench/smpp-relay; "
                         "use --build-dir")


def gateway_config(mc_port, sessions, window, upstream_binds, customers=None,
                   max_connections=1000, pki=None, store=None):
    if customers is None:
        customers = [("bench", "secret")]
    cfg = {
        "version": 1,
        "gateway": {"system_id": "smppgw-bench", "allow_plain_passwords": True},
        "listeners": [{"name": "bench", "address": "127.0.0.1", "port": 0,
                       "max_connections": max_connections}],
        "customers": [{"system_id": sid, "password": pw, "window": max(1000, window),
                       "max_binds": min(1000, max(64, sessions))} for sid, pw in customers],
        "upstreams": [{"name": "mcsim", "host": "127.0.0.1", "port": mc_port,
                       "system_id": "gw", "password": "pw", "binds": upstream_binds,
                       "window": 1000, "request_timeout": "10s", "connect_timeout": "2s",
                       "reconnect": {"initial": "100ms", "max": "500ms"}}],
        "groups": [{"name": "main", "strategy": "failover", "members": [{"upstream": "mcsim"}]}],
        "routes": [{"name": "all", "action": {"group": "main"}}],
        "mo_routes": [{"name": "mo", "action": {"customer": customers[0][0]}}],
        "timers": {"response": "10s", "unbind": "1s", "shutdown_grace": "5s"},
        "limits": {"max_connections": max(10000, max_connections)},
        "metrics": {"enabled": False},
        "log": {"level": "info"},
    }
    if pki:
        cfg["listeners"][0]["tls"] = {"certificate": pki["cert"], "private_key": pki["key"]}
        cfg["upstreams"][0]["tls"] = {"ca": pki["ca"], "server_name": "127.0.0.1"}
    if store:
        # The durable store ({"type": "embedded", "path", "sync"}; batch_max and batch_delay are
        # the gateway's defaults), and the metrics that tell what it wrote (port 0: the second
        # line of the port file). Only then, so the memory-store configs stay as they were.
        cfg["store"] = dict(store)
        cfg["metrics"] = {"enabled": True, "address": "127.0.0.1", "port": 0}
    if max_connections > 1000:
        # The memory profile: every session comes from 127.0.0.1, above the default per-address
        # limit (100). Only then, so binaries without the key (--compare-smppgw OLD) take the
        # usual configs.
        cfg["limits"]["max_connections_per_source"] = max_connections
    return cfg


# ---------------------------------------------------------------------------------------------
# TLS: a throwaway PKI, and whether the binaries under test take the TLS config and flags.


def make_pki(outdir):
    """A CA and a certificate for 127.0.0.1/localhost (EC P-256, valid 2 days), with the openssl
    command, into OUTDIR/pki. Returns {"ca", "cert", "key"} or raises SkipRun."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise SkipRun("the openssl command is not installed (needed for the throwaway PKI)")
    d = os.path.join(outdir, "pki")
    os.makedirs(d, exist_ok=True)
    p = {k: os.path.join(d, v) for k, v in (("ca", "ca.pem"), ("ca_key", "ca.key"),
                                             ("cert", "server.pem"), ("key", "server.key"),
                                             ("csr", "server.csr"), ("ext", "server.ext"))}
    with open(p["ext"], "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [
        [openssl, "req", "-x509"] + ec + ["-keyout", p["ca_key"], "-out", p["ca"], "-days", "2",
                                          "-subj", "/CN=smpp-benchrun CA",
                                          "-addext", "basicConstraints=critical,CA:TRUE",
                                          "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req"] + ec + ["-keyout", p["key"], "-out", p["csr"], "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", p["csr"], "-CA", p["ca"], "-CAkey", p["ca_key"],
         "-CAcreateserial", "-out", p["cert"], "-days", "2", "-extfile", p["ext"]],
    ]
    for argv in steps:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SkipRun("openssl %s failed: %s" % (argv[1], r.stderr.strip()[-300:]))
    return {"ca": p["ca"], "cert": p["cert"], "key": p["key"]}


def refusal(text):
    """What a refusing binary said: its `error:` lines (smppgw), else its first line."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    errors = [x for x in lines if x.startswith("error:")]
    return ("; ".join(errors) if errors else (lines[0] if lines else "(no message)"))[:400]


def tls_support(bins, outdir, configs):
    """{config: reason} for the TLS configs that cannot run here (none if all can): the PKI,
    smpp-mcsim --help naming --tls-cert, `smppgw check-config` taking a TLS listener + upstream."""
    wanted = [c for c in configs if c.endswith("-tls")]
    if not wanted:
        return None, {}
    try:
        pki = make_pki(outdir)
    except SkipRun as e:
        return None, {c: str(e) for c in wanted}
    skip = {}
    r = subprocess.run([bins.mcsim, "--help"], capture_output=True, text=True, timeout=30)
    if "--tls-cert" not in r.stdout:
        why = "smpp-mcsim (%s) has no --tls-cert/--tls-key flags" % bins.mcsim
        for c in wanted:
            skip[c] = why
    probe = os.path.join(outdir, "pki", "smppgw-tls-probe.json")
    with open(probe, "w") as f:
        json.dump(gateway_config(2775, 1, 1, 1, pki=pki), f, indent=2)
    for c, exe in (("gateway-tls", bins.smppgw), ("gateway-b-tls", bins.smppgw_b)):
        if c not in wanted or c in skip or not exe:
            continue
        r = subprocess.run([exe, "check-config", probe], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            skip[c] = "smppgw (%s) refuses the TLS config: %s" % (exe,
                                                                  refusal(r.stderr + r.stdout))
    return pki, skip


def store_support(bins, outdir, configs):
    """{config: reason} for the store configs whose smppgw refuses store.type embedded in
    `smppgw check-config` (a build without the durable store, e.g. an older --compare-smppgw)."""
    wanted = [c for c in configs if store_kind(c)]
    if not wanted:
        return {}
    probe_dir = os.path.join(outdir, "store-probe")
    os.makedirs(probe_dir, exist_ok=True)
    probe = os.path.join(probe_dir, "smppgw-store-probe.json")
    with open(probe, "w") as f:
        json.dump(gateway_config(2775, 1, 1, 1, store={
            "type": "embedded", "path": os.path.join(probe_dir, "store"), "sync": False}),
            f, indent=2)
    skip, verdict = {}, {}
    for c in wanted:
        b = base_config(c)
        exe = bins.smppgw if b == "gateway" else bins.smppgw_b
        if not exe:
            continue
        if exe not in verdict:
            r = subprocess.run([exe, "check-config", probe], capture_output=True, text=True,
                               timeout=30)
            verdict[exe] = None if r.returncode == 0 else refusal(r.stderr + r.stdout)
        if verdict[exe] is not None:
            skip[c] = "smppgw%s (%s) has no embedded store: %s" % (
                " B" if b == "gateway-b" else "", exe, verdict[exe])
    shutil.rmtree(probe_dir, ignore_errors=True)
    return skip


class Stack:
    """mcsim plus the middle process (none, smpp-relay or smppgw) of one run."""

    def __init__(self, bins, config, rundir, sessions=1, window=1, upstream_binds=1,
                 mo_rate=0.0, valgrind=None, gw_customers=None, max_connections=1000,
                 nofile=None, ready_timeout=15.0, pki=None):
        self.mcsim = None
        self.mid = None
        self.pki = pki if config.endswith("-tls") else None
        self.store_dir = None  # the embedded store's directory (store variants)
        self.metrics_port = None
        try:
            self._start(bins, config, rundir, sessions, window, upstream_binds, mo_rate,
                        valgrind, gw_customers, max_connections, nofile, ready_timeout)
        except RunError as e:
            self.kill()
            if self.pki:
                self._maybe_skip(e)
            raise
        except BaseException:
            self.kill()  # nothing started here outlives a failed start
            raise

    def _maybe_skip(self, err):
        """A TLS stack whose smpp-mcsim exited at once with a usage error (2), or whose gateway
        refused a tls key of its configuration: the binary does not take TLS yet. Anything else
        is a failure."""
        for p in self.procs():
            if p.running():
                continue
            refused = p.p.returncode == 2 if p.name == "mcsim" else \
                ".tls" in refusal(p.err()) and refusal(p.err()).startswith("error:")
            if refused:
                raise SkipRun("%s refuses the TLS %s: %s" % (
                    p.name, "flags" if p.name == "mcsim" else "config", refusal(p.err())))

    def _start(self, bins, config, rundir, sessions, window, upstream_binds, mo_rate, valgrind,
               gw_customers, max_connections, nofile, ready_timeout):
        base = base_config(config)
        self.config = config
        self.rundir = rundir
        self.stats_path = os.path.join(rundir, "mid-stats.json")
        self.upstream_binds = upstream_binds
        mc_port_file = os.path.join(rundir, "mcsim.port")
        port_file = os.path.join(rundir, "mid.port")
        for stale in (mc_port_file, port_file, self.stats_path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(stale)
        mc = [bins.mcsim, "--listen", "127.0.0.1:0", "--port-file", mc_port_file, "--quiet",
              "--window", "1000", "--duration", "900s"]
        if mo_rate > 0:
            mc += ["--mo-rate", "%.3f" % mo_rate]
        if self.pki:
            mc += ["--tls-cert", self.pki["cert"], "--tls-key", self.pki["key"]]
        self.mcsim = Proc("mcsim", mc, rundir)
        self.mc_port = wait_until(lambda: read_port(mc_port_file), 10, "smpp-mcsim's port",
                                  [self.mcsim])
        self.port = self.mc_port
        if base == "direct":
            return
        prefix = list(valgrind) if valgrind else []
        env = dict(os.environ)
        if base == "uvpure":
            argv = prefix + [bins.relay, "--listen", "127.0.0.1:0", "--upstream",
                             "127.0.0.1:%d" % self.mc_port, "--port-file", port_file,
                             "--stats-file", self.stats_path]
            self.mid = Proc("relay", argv, rundir, env=env, nofile=nofile)
        elif base in ("gateway", "gateway-b"):
            store = None
            if store_kind(config):
                self.store_dir = os.path.join(rundir, "store")
                shutil.rmtree(self.store_dir, ignore_errors=True)  # fresh per run
                store = {"type": "embedded", "path": self.store_dir,
                         "sync": store_kind(config) == "sync"}
            cfg = gateway_config(self.mc_port, sessions, window, upstream_binds, gw_customers,
                                 max_connections, self.pki, store)
            cfg_path = os.path.join(rundir, "smppgw.json")
            with open(cfg_path, "w") as f:
                json.dump(cfg, f, indent=2)
            env["SMPPGW_STATS_FILE"] = self.stats_path
            exe = bins.smppgw if base == "gateway" else bins.smppgw_b
            argv = prefix + [exe, "run", "-c", cfg_path, "--port-file", port_file]
            self.mid = Proc("gateway", argv, rundir, env=env, nofile=nofile)
        else:
            raise RunError("unknown config " + config)
        self.port = wait_until(lambda: read_port(port_file), ready_timeout,
                               self.mid.name + "'s port", [self.mid, self.mcsim])
        if self.store_dir:
            ports = read_ports(port_file) or []
            self.metrics_port = ports[1] if len(ports) > 1 else None
        if base in ("gateway", "gateway-b"):
            wait_until(lambda: self.gateway_log_count("event=upstream_bound") >= upstream_binds,
                       ready_timeout, "the gateway's upstream binds", [self.mid, self.mcsim])

    def gateway_log_count(self, needle):
        try:
            with open(self.mid.err_path, errors="replace") as f:
                return f.read().count(needle)
        except OSError:
            return 0

    def procs(self):
        return [p for p in (self.mcsim, self.mid) if p is not None]

    def stop(self, timeout=20.0):
        """Stops the middle process, then mcsim. Returns (mid_stats, mid_rc, mcsim_summary,
        mcsim_rc)."""
        mid_stats, mid_rc = None, None
        if self.mid is not None:
            mid_rc = self.mid.stop(signal.SIGTERM, timeout)
            try:
                with open(self.stats_path) as f:
                    mid_stats = json.loads(f.read())
            except (OSError, ValueError):
                mid_stats = None
        mc_rc = self.mcsim.stop(signal.SIGTERM, timeout)
        return mid_stats, mid_rc, last_json_line(self.mcsim.out()), mc_rc

    def kill(self):
        for p in self.procs():
            p.stop(signal.SIGKILL, 5)


def run_bench(bins, rundir, port, args, timeout):
    argv = [bins.bench, "--connect", "127.0.0.1:%d" % port, "--json", "--quiet"] + args
    b = Proc("bench", argv, rundir)
    rc = b.wait(timeout)
    if rc is None:
        b.stop(signal.SIGINT, 10)
        b.stop(signal.SIGKILL, 5)
        raise RunError("smpp-bench did not finish within %.0f s" % timeout)
    b.stop()
    report = last_json_line(b.out())
    if report is None:
        raise RunError("smpp-bench (exit %s) printed no report: %s" % (rc, b.err()[-400:]))
    return rc, report


# ---------------------------------------------------------------------------------------------
# One measured run.


def pick(d, *path, default=None):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def measure(bins, args, outdir, seq, rep, config, mix, sessions, window, mode, load, rate,
            duration, mo_rate):
    tag = "%04d-%s-%s-c%d-w%d-%s" % (seq, config, mix, sessions, window, mode)
    rundir = os.path.join(outdir, "runs", tag)
    os.makedirs(rundir, exist_ok=True)
    ub = args.upstream_binds or sessions
    rec = {"kind": "run", "seq": seq, "rep": rep, "config": config, "mix": mix,
           "sessions": sessions, "window": window, "mode": mode, "load": load,
           "offered_rate": rate if mode != "closed" else None, "duration_s": duration,
           "upstream_binds": ub if config.startswith("gateway") else None, "mo_rate": mo_rate,
           "ok": False, "problems": []}
    stack = None
    store_dir = None
    if config in args.skip:
        rec["skipped"] = args.skip[config]
        shutil.rmtree(rundir, ignore_errors=True)
        return rec
    try:
        stack = Stack(bins, config, rundir, sessions, window, ub, mo_rate, pki=args.pki)
        store_dir = stack.store_dir
        m0 = store_scrape(stack.metrics_port, rec) if store_dir else None
        bargs = ["--sessions", str(sessions), "--window", str(window), "--mix", mix,
                 "--duration", "%gs" % duration, "--seed", str(rep + 1),
                 "--response-timeout", "5s", "--receipt-timeout", "5s"]
        if stack.pki:
            bargs += ["--tls", "--tls-ca", stack.pki["ca"]]
        if mode != "closed":
            bargs += ["--rate", "%.1f" % rate]
        cpu0 = {p.name: p.sample() for p in stack.procs()}
        st0 = proc_stat()
        t0 = time.monotonic()
        rc, rep_json = run_bench(bins, rundir, stack.port, bargs, duration + 40)
        t1 = time.monotonic()
        st1 = proc_stat()
        cpu1 = {p.name: p.sample() for p in stack.procs()}
        if store_dir:  # after the measured interval: its figures do not include the scrape
            m1 = store_scrape(stack.metrics_port, rec, settle=True)
            du_live = dir_sizes(store_dir)
            open_ms, _, _ = store_open_info(stack.mid.err())
        mid_stats, mid_rc, mc_sum, mc_rc = stack.stop()
        stack = None
        wall = t1 - t0
        rec.update(bench_fields(rep_json))
        rec["bench_exit"] = rc
        rec["wall_s"] = wall
        cpu = {"bench": (pick(rep_json, "cpu", "user_s", default=0) +
                         pick(rep_json, "cpu", "sys_s", default=0))}
        mid_split = None
        for name in cpu0:
            a, b = cpu0[name], cpu1[name]
            if a is not None and b is not None:
                key = "mid" if name != "mcsim" else "mcsim"
                cpu[key] = (b[0] - a[0]) + (b[1] - a[1])
                if key == "mid":
                    mid_split = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
        rec["cpu_s"] = cpu
        rec["cpu_pct"] = {k: 100.0 * v / wall for k, v in cpu.items()}
        d_busy = (st1[0] - st0[0]) / HZ
        own = sum(cpu.values())
        rec["machine"] = {"busy_pct": 100.0 * d_busy / wall,
                          "own_pct": 100.0 * own / wall,
                          "foreign_pct": 100.0 * (d_busy - own) / wall,
                          "softirq_pct": 100.0 * (st1[1] - st0[1]) / HZ / wall,
                          "steal_pct": 100.0 * (st1[2] - st0[2]) / HZ / wall}
        rec["noisy"] = rec["machine"]["foreign_pct"] > args.noise_threshold
        rec["mcsim_exit"] = mc_rc
        rec["mcsim_loop"] = pick(mc_sum, "loop")
        rec["mcsim_mo_sent"] = pick(mc_sum, "mo", "sent")
        if not config.startswith("direct"):
            rec["mid_exit"] = mid_rc
            rec["mid_stats"] = mid_stats
        rts = rec["responses"] or 0
        if rts > 0:
            if not config.startswith("direct") and mid_stats:
                lp = mid_stats["loop"]
                rec["mid_syscalls_per_rt"] = (lp["reads"] + lp["writes"] +
                                              lp["iterations"]) / rts
                rec["mid_reads_per_rt"] = lp["reads"] / rts
                rec["mid_writes_per_rt"] = lp["writes"] / rts
                rec["mid_iterations_per_rt"] = lp["iterations"] / rts
            if "mid" in cpu:
                rec["mid_cpu_ns_per_rt"] = cpu["mid"] * 1e9 / rts
                rec["mid_user_ns_per_rt"] = mid_split[0] * 1e9 / rts
                rec["mid_sys_ns_per_rt"] = mid_split[1] * 1e9 / rts
                rec["mid_minflt_per_1k_rt"] = mid_split[2] * 1000.0 / rts
        if store_dir:
            store_fields(rec, store_kind(config), m0, m1, du_live, dir_sizes(store_dir), open_ms)
        rec["problems"] = check_run(rec, mc_sum)
        rec["ok"] = not rec["problems"]
    except RunError as e:
        rec["problems"].append(str(e))
    except SkipRun as e:
        rec["skipped"] = str(e)
        args.skip[config] = str(e)  # the same binary: its other runs are skipped at once
    finally:
        if stack is not None:
            stack.kill()
        if store_dir and not args.keep_logs:
            shutil.rmtree(store_dir, ignore_errors=True)  # even when the run's logs are kept
    if (rec["ok"] or rec.get("skipped")) and not args.keep_logs:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        rec["logs"] = rundir
    return rec


def store_scrape(port, rec, settle=False):
    """The store's counters and gauges from the gateway's /metrics ({} and a note in
    rec["store_errors"] if they cannot be read). The gateway publishes them on its 100 ms tick:
    with `settle`, scrapes again every 150 ms (2 s at most) until the backlog is 0 and the
    written bytes stop moving, so the writes that trail the load are counted."""
    if not port:
        rec.setdefault("store_errors", []).append("no metrics port in the gateway's port file")
        return {}
    out, deadline = None, time.monotonic() + 2.0
    while True:
        if settle:
            time.sleep(0.15)
        try:
            m = scrape_metrics(port)
        except (OSError, ValueError) as e:
            rec.setdefault("store_errors", []).append("metrics scrape failed: %s" % e)
            return {}
        prev = out
        out = {k: m.get(series) for k, series in STORE_SERIES.items()}
        out.update({k: m.get(series) for k, series in STORE_GAUGES.items()})
        out["_scraped"] = True  # non-empty even when no store series is there yet
        if not settle or time.monotonic() > deadline or (
                prev is not None and not out.get("backlog") and
                prev.get("written_bytes") == out.get("written_bytes")):
            return out


def store_fields(rec, kind, m0, m1, du_live, du_closed, open_ms):
    """What a store variant's run wrote: counter deltas over the run, sizes on disk (du_live,
    du_closed: dir_sizes() once the load is over, and once the gateway has exited), per message
    (bench `messages`: a long message is 3 submit_sm) and per submit_sm answered."""
    st = {"kind": kind, "sync": kind == "sync", "open_ms": open_ms,
          "du_bytes": du_live[0], "apparent_bytes": du_live[1],
          "du_bytes_closed": du_closed[0], "apparent_bytes_closed": du_closed[1]}
    du_live, du_closed = du_live[0], du_closed[0]
    for k in STORE_SERIES:
        # A labelled series appears with its first event: missing from a scrape that worked, 0.
        a = None if not m0 else (m0.get(k) or 0.0)
        b = None if not m1 else (m1.get(k) or 0.0)
        st[k] = None if a is None or b is None else b - a
    for k in STORE_GAUGES:
        st[k + "_end"] = (m1 or {}).get(k)
    rec["store"] = st
    msgs, rts = rec.get("messages") or 0, rec.get("responses") or 0
    wb = st.get("written_bytes")
    if msgs > 0:
        rec["store_written_bytes_per_msg"] = None if wb is None else wb / msgs
        # du / messages * 1e6 bytes = MB (10^6 bytes) per million messages
        rec["store_disk_mb_per_1m_msgs"] = du_live / msgs
        rec["store_disk_mb_per_1m_msgs_closed"] = du_closed / msgs
        rec["store_apparent_mb_per_1m_msgs"] = st["apparent_bytes"] / msgs
    if rts > 0 and wb is not None:
        rec["store_written_bytes_per_submit"] = wb / rts
    if st.get("writes_ok") is not None and st.get("batches"):
        rec["store_writes_per_batch"] = st["writes_ok"] / st["batches"]
    rec["store_open_ms"] = open_ms


def bench_fields(r):
    lat = r.get("latency_us", {})
    out = {"throughput": r.get("throughput_per_s"), "ok_per_s": r.get("ok_per_s"),
           "submitted": r.get("submitted"), "messages": r.get("messages"),
           "responses": r.get("responses"), "responses_ok": r.get("responses_ok"),
           "timeouts": r.get("timeouts"), "generic_nack": r.get("generic_nack"),
           "statuses": r.get("statuses"), "elapsed_s": r.get("elapsed_s"),
           "p50_us": lat.get("p50"), "p90_us": lat.get("p90"), "p99_us": lat.get("p99"),
           "p999_us": lat.get("p99.9"), "max_us": lat.get("max"), "mean_us": lat.get("mean"),
           "window_bound_per_s": r.get("window_bound_per_s"),
           "receipts": {k: r.get("receipts", {}).get(k)
                        for k in ("expected", "matched", "missing", "unmatched")},
           "receipt_p50_ms": pick(r, "receipts", "latency_ms", "p50"),
           "receipt_p99_ms": pick(r, "receipts", "latency_ms", "p99"),
           "mo_received": r.get("mo_received"), "bench_loop": r.get("loop"),
           "stop_reason": r.get("stop_reason"), "binds": r.get("binds")}
    if "send_lag_us" in r:
        out["send_lag_p50_us"] = r["send_lag_us"].get("p50")
        out["send_lag_p99_us"] = r["send_lag_us"].get("p99")
    return out


def check_run(rec, mc_sum):
    """Everything that makes a run invalid (not its figures)."""
    p = []
    if rec.get("bench_exit") != 0:
        p.append("smpp-bench exit code %s (stop: %s)" % (rec.get("bench_exit"),
                                                        rec.get("stop_reason")))
    if not rec.get("responses"):
        p.append("no submit_sm answered")
    elif rec["responses"] != rec["submitted"]:
        p.append("%s of %s submit_sm answered" % (rec["responses"], rec["submitted"]))
    if rec.get("timeouts"):
        p.append("%d timeouts" % rec["timeouts"])
    if rec.get("responses_ok") != rec.get("responses"):
        p.append("non-OK responses: %s" % json.dumps(rec.get("statuses")))
    rc = rec.get("receipts") or {}
    if rc.get("missing"):
        p.append("%d receipts missing" % rc["missing"])
    if rec.get("mcsim_exit") != 0:
        p.append("smpp-mcsim exit code %s" % rec.get("mcsim_exit"))
    if mc_sum is None:
        p.append("no smpp-mcsim summary")
    if not rec["config"].startswith("direct"):
        if rec.get("mid_exit") != 0:
            p.append("%s exit code %s" % (rec["config"], rec.get("mid_exit")))
        if not rec.get("mid_stats"):
            p.append("no loop counters from " + rec["config"])
    if store_kind(rec["config"]):
        for e in rec.get("store_errors", []):
            p.append("store metrics of %s: %s" % (rec["config"], e))
        if pick(rec, "store", "writes_failed"):
            p.append("%d store writes failed" % rec["store"]["writes_failed"])
    return p


# ---------------------------------------------------------------------------------------------
# Statistics.


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


POINT_METRICS = ("throughput", "p50_us", "p90_us", "p99_us", "p999_us", "mid_cpu_ns_per_rt",
                 "mid_user_ns_per_rt", "mid_sys_ns_per_rt", "mid_minflt_per_1k_rt",
                 "mid_syscalls_per_rt", "mid_reads_per_rt", "mid_writes_per_rt",
                 "mid_iterations_per_rt", "receipt_p50_ms", "receipt_p99_ms")


# Store variants only (gateway-store, gateway-store-sync, gateway-b-store...).
STORE_METRICS = ("store_written_bytes_per_msg", "store_written_bytes_per_submit",
                 "store_disk_mb_per_1m_msgs", "store_disk_mb_per_1m_msgs_closed",
                 "store_apparent_mb_per_1m_msgs", "store_writes_per_batch", "store_open_ms")


def point_key(r):
    return (r["mix"], r["sessions"], r["window"], r["mode"])


def regime(r):
    """What bounds a run: a process near a full core (CPU), else, in closed loop, the round trip
    (Little's law: throughput = sessions x window / latency, waiting on wake-ups), else, in open
    loop, the offered load."""
    cpu = r.get("cpu_pct") or {}
    if cpu:
        name, top = max(cpu.items(), key=lambda kv: kv[1])
        if top >= 75.0:
            return "cpu:" + (r["config"] if name == "mid" else name)
    return "latency" if r["mode"] == "closed" else "offered"


def summarize(runs, threshold):
    for r in runs:
        if r.get("machine"):
            r["noisy"] = r["machine"]["foreign_pct"] > threshold
    ok = [r for r in runs if r["ok"]]
    points = {}
    for r in ok:
        points.setdefault(point_key(r), {}).setdefault(r["config"], []).append(r)
    out_points = []
    for key in sorted(points, key=lambda k: (k[0], k[1], k[2], mode_order(k[3]))):
        entry = {"mix": key[0], "sessions": key[1], "window": key[2], "mode": key[3],
                 "configs": {}}
        for config in CONFIGS:
            rs = points[key].get(config)
            if not rs:
                continue
            quiet = [r for r in rs if not r["noisy"]]
            c = {"runs": len(rs), "quiet_runs": len(quiet), "all": {}, "quiet": {}}
            for m in POINT_METRICS + (STORE_METRICS if store_kind(config) else ()):
                c["all"][m] = spread([r.get(m) for r in rs])
                c["quiet"][m] = spread([r.get(m) for r in quiet])
            for k in ("bench", "mcsim", "mid"):
                c["all"]["cpu_pct_" + k] = spread([r["cpu_pct"].get(k) for r in rs])
            c["all"]["foreign_pct"] = spread([r["machine"]["foreign_pct"] for r in rs])
            c["all"]["offered_rate"] = spread([r.get("offered_rate") for r in rs])
            regimes = [regime(r) for r in rs]
            c["regime"] = max(set(regimes), key=regimes.count)
            c["all"]["mo_share"] = spread([(r.get("mo_received") or 0) / r["messages"]
                                           for r in rs if r.get("messages")])
            entry["configs"][config] = c
        entry["ratios"] = ratios_for(key, ok)
        out_points.append(entry)
    return out_points


def mode_order(m):
    return {"closed": 0}.get(m, 1) if not m.startswith("open") else 1 + int(m[4:] or 0)


def ratios_for(key, ok):
    """Ratios inside each rep (the three configs of one rep ran back to back), then their median
    and min-max over reps; all reps, and reps where all three runs were quiet."""
    by_rep = {}
    for r in ok:
        if point_key(r) == key:
            by_rep.setdefault(r["rep"], {})[r["config"]] = r
    per = []
    for rep, rs in sorted(by_rep.items()):
        g, u, d = rs.get("gateway"), rs.get("uvpure"), rs.get("direct")
        x = {"rep": rep, "quiet": all(not r["noisy"] for r in rs.values())}

        def ratio(a, b, m):
            if a is None or b is None or a.get(m) is None or not b.get(m):
                return None
            return a[m] / b[m]

        x["G4_syscalls"] = ratio(g, u, "mid_syscalls_per_rt")
        x["G5_cpu"] = ratio(g, u, "mid_cpu_ns_per_rt")
        x["G6_throughput"] = ratio(g, u, "throughput")
        x["uvpure_vs_direct_throughput"] = ratio(u, d, "throughput")
        gt, gbt = rs.get("gateway-tls"), rs.get("gateway-b-tls")
        if gt:  # TLS on both hops of the gateway against plaintext, same rep
            x["TLS_vs_plain_throughput"] = ratio(gt, g, "throughput")
            x["TLS_vs_plain_syscalls"] = ratio(gt, g, "mid_syscalls_per_rt")
            x["TLS_vs_plain_cpu"] = ratio(gt, g, "mid_cpu_ns_per_rt")
            x["TLS_vs_plain_p50"] = ratio(gt, g, "p50_us")
        if gbt and gt:
            x["B_vs_A_tls_cpu"] = ratio(gbt, gt, "mid_cpu_ns_per_rt")
            x["B_vs_A_tls_throughput"] = ratio(gbt, gt, "throughput")
            x["B_vs_A_tls_p50"] = ratio(gbt, gt, "p50_us")
        dt = rs.get("direct-tls")
        if dt:
            x["direct_TLS_vs_plain_throughput"] = ratio(dt, d, "throughput")
        gb = rs.get("gateway-b")
        if gb:  # --compare-smppgw: the other binary against this one, same rep
            x["B_vs_A_cpu"] = ratio(gb, g, "mid_cpu_ns_per_rt")
            x["B_vs_A_throughput"] = ratio(gb, g, "throughput")
            x["B_vs_A_p50"] = ratio(gb, g, "p50_us")
        for variant, base, pre in STORE_PAIRS:  # the durable store against memory, same rep
            sv, mem = rs.get(variant), rs.get(base)
            if not sv:
                continue
            if mem:
                x[pre + "_vs_mem_throughput"] = ratio(sv, mem, "throughput")
                for pct in ("p50", "p99"):
                    a, b = sv.get(pct + "_us"), mem.get(pct + "_us")
                    if a is not None and b is not None:
                        x["%s_added_%s_ms" % (pre, pct)] = (a - b) / 1000.0
                a, b = sv.get("mid_cpu_ns_per_rt"), mem.get("mid_cpu_ns_per_rt")
                if a is not None and b is not None:
                    x[pre + "_added_cpu_us_per_rt"] = (a - b) / 1000.0
            if sv.get("mid_cpu_ns_per_rt") is not None:
                x[pre + "_cpu_us_per_rt"] = sv["mid_cpu_ns_per_rt"] / 1000.0
            x[pre + "_written_bytes_per_msg"] = sv.get("store_written_bytes_per_msg")
            x[pre + "_disk_mb_per_1m_msgs"] = sv.get("store_disk_mb_per_1m_msgs")
            x[pre + "_apparent_mb_per_1m_msgs"] = sv.get("store_apparent_mb_per_1m_msgs")
        x["gateway_vs_direct_throughput"] = ratio(g, d, "throughput")
        for pct in ("p50_us", "p99_us"):
            if g and u and d and None not in (g.get(pct), u.get(pct), d.get(pct)):
                ga, ua = g[pct] - d[pct], u[pct] - d[pct]
                x["added_" + pct + "_gateway"] = ga
                x["added_" + pct + "_uvpure"] = ua
                x["G7_added_" + pct] = ga / ua if ua > 1.0 else None
        per.append(x)
    keys = sorted({k for x in per for k in x if k not in ("rep", "quiet")})
    return {"per_rep": per,
            "all": {k: spread([x.get(k) for x in per]) for k in keys},
            "quiet": {k: spread([x.get(k) for x in per if x["quiet"]]) for k in keys}}


def find_point(points, mix, sessions, window, mode="closed"):
    for p in points:
        if (p["mix"], p["sessions"], p["window"], p["mode"]) == (mix, sessions, window, mode):
            return p
    return None


def evaluate_targets(points):
    t = []

    def ratio(w, name):
        p = find_point(points, "minimal", 1, w)
        return pick(p, "ratios", "all", name, "median") if p else None

    def add(gid, what, value, ok, detail=""):
        t.append({"id": gid, "what": what, "value": value,
                  "met": None if value is None else bool(ok(value)), "detail": detail})

    for w, lim in ((1, 1.05), (100, 1.2)):
        p = find_point(points, "minimal", 1, w)
        det = ""
        if p:
            gs = pick(p, "configs", "gateway", "all", "mid_syscalls_per_rt", "median")
            us = pick(p, "configs", "uvpure", "all", "mid_syscalls_per_rt", "median")
            if gs is not None and us is not None:
                det = "gateway %.3f vs uvpure %.3f syscalls/rt" % (gs, us)
        add("G4", "syscalls/rt vs uvpure, W=%d (<= %.2f)" % (w, lim),
            ratio(w, "G4_syscalls"), lambda v, lim=lim: v <= lim, det)
    for w, lim in ((1, 1.3), (100, 2.0)):
        add("G5", "CPU/rt vs uvpure, W=%d (<= %.1f)" % (w, lim), ratio(w, "G5_cpu"),
            lambda v, lim=lim: v <= lim)
    for w, lim in ((1, 0.8), (10, 0.8), (100, 0.6)):
        add("G6", "throughput vs uvpure, W=%d (>= %.1f)" % (w, lim), ratio(w, "G6_throughput"),
            lambda v, lim=lim: v >= lim)
    add("G7", "added p50 vs uvpure's added p50, W=1 (<= 1.5)", ratio(1, "G7_added_p50_us"),
        lambda v: v <= 1.5)
    p = find_point(points, "realistic", 4, 10)
    g8 = pick(p, "configs", "gateway", "all", "throughput", "median") if p else None
    add("G8", "submit_sm/s, realistic, 4 x W10, receipts (>= 50,000)", g8,
        lambda v: v >= 50000)
    # The durable store's floor, at the G8 point, only when a store variant ran there.
    for variant, base, pre in STORE_PAIRS:
        v = pick(p, "ratios", "all", pre + "_vs_mem_throughput", "median") if p else None
        if v is not None:
            add(pre, "throughput %s / %s, G8 point (>= %.1f)" % (variant, base, STORE_FLOOR), v,
                lambda v: v >= STORE_FLOOR, "added p50 %s ms, p99 %s ms, CPU %s us/rt" % (
                    fmt(pick(p, "ratios", "all", pre + "_added_p50_ms", "median"), 3),
                    fmt(pick(p, "ratios", "all", pre + "_added_p99_ms", "median"), 3),
                    fmt(pick(p, "ratios", "all", pre + "_added_cpu_us_per_rt", "median"), 2)))
    return t


# ---------------------------------------------------------------------------------------------
# Text report.


def fmt(v, digits=0):
    if v is None:
        return "-"
    if isinstance(v, dict):
        return "%s (%s-%s)" % (fmt(v["median"], digits), fmt(v["min"], digits),
                               fmt(v["max"], digits))
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{d}f}".format(v, d=digits)


def print_report(points, targets, runs, out=sys.stdout):
    w = out.write
    w("\n== Per point: median (min-max) over reps; [quiet] = runs with foreign CPU under the "
      "threshold\n")
    for p in points:
        offered = pick(p, "configs", "gateway", "all", "offered_rate", "median") or \
            pick(p, "configs", "direct", "all", "offered_rate", "median")
        w("\n-- mix %s, %d bind(s) x window %d, %s%s; sink delay 0\n" % (
            p["mix"], p["sessions"], p["window"], p["mode"],
            " at %s msg/s offered" % fmt(offered) if offered else ""))
        w("  %-8s %5s %-28s %-24s %-22s %-20s %-22s %-14s %-10s %s\n" % (
            "config", "runs", "submit_sm/s", "[quiet median] p50 us", "p99 us",
            "mid CPU ns/rt", "mid syscalls/rt", "CPU% b/mc/mid", "foreign%", "bound by"))
        for config, c in p["configs"].items():
            a, q = c["all"], c["quiet"]
            cpu = "/".join(fmt(pick(a, "cpu_pct_" + k, "median")) for k in ("bench", "mcsim",
                                                                              "mid"))
            w("  %-8s %2d/%-2d %-28s %-24s %-22s %-20s %-22s %-14s %-10s %s\n" % (
                config, c["quiet_runs"], c["runs"], fmt(a["throughput"]),
                "%s [%s]" % (fmt(a["p50_us"], 1), fmt(pick(q, "p50_us", "median"), 1)),
                fmt(a["p99_us"]), fmt(a["mid_cpu_ns_per_rt"]),
                fmt(a["mid_syscalls_per_rt"], 3), cpu, fmt(pick(a, "foreign_pct", "median")),
                c.get("regime", "")))
            if not config.startswith("direct"):
                w("  %-8s       user/sys ns/rt %s / %s; minor faults per 1k rt %s\n" % (
                    "", fmt(pick(a, "mid_user_ns_per_rt", "median")),
                    fmt(pick(a, "mid_sys_ns_per_rt", "median")),
                    fmt(pick(a, "mid_minflt_per_1k_rt", "median"), 1)))
            if p["mix"] == "realistic":
                w("  %-8s       receipts p50/p99 ms %s / %s; MO share %s\n" % (
                    "", fmt(pick(a, "receipt_p50_ms", "median"), 3),
                    fmt(pick(a, "receipt_p99_ms", "median"), 3),
                    fmt(pick(a, "mo_share", "median"), 4)))
            if store_kind(config):
                w("  %-8s       store: written B/msg %s (B/submit_sm %s), writes/batch %s; disk MB "
                  "per 1M msgs %s (apparent %s; after the exit %s); open ms %s\n" % (
                      "", fmt(pick(a, "store_written_bytes_per_msg", "median")),
                      fmt(pick(a, "store_written_bytes_per_submit", "median")),
                      fmt(pick(a, "store_writes_per_batch", "median"), 1),
                      fmt(pick(a, "store_disk_mb_per_1m_msgs", "median"), 1),
                      fmt(pick(a, "store_apparent_mb_per_1m_msgs", "median"), 1),
                      fmt(pick(a, "store_disk_mb_per_1m_msgs_closed", "median"), 1),
                      fmt(pick(a, "store_open_ms", "median"))))
        ra, rq = p["ratios"]["all"], p["ratios"]["quiet"]
        if ra:
            w("  ratios (per rep, median (min-max)) [quiet reps median]:\n")
            for k in ("G4_syscalls", "G5_cpu", "G6_throughput", "G7_added_p50_us",
                      "B_vs_A_cpu", "B_vs_A_throughput", "B_vs_A_p50",
                      "TLS_vs_plain_throughput", "TLS_vs_plain_syscalls", "TLS_vs_plain_cpu",
                      "TLS_vs_plain_p50", "B_vs_A_tls_cpu", "B_vs_A_tls_throughput",
                      "B_vs_A_tls_p50", "direct_TLS_vs_plain_throughput",
                      "G7_added_p99_us", "uvpure_vs_direct_throughput",
                      "added_p50_us_gateway", "added_p50_us_uvpure"):
                if ra.get(k):
                    d = 1 if k.startswith("added") else 3
                    w("    %-30s %s [%s]\n" % (k, fmt(ra[k], d),
                                               fmt(pick(rq, k, "median"), d)))
            for variant, base, pre in STORE_PAIRS:
                for suffix, d in (("_vs_mem_throughput", 3), ("_added_p50_ms", 3),
                                  ("_added_p99_ms", 3), ("_cpu_us_per_rt", 2),
                                  ("_added_cpu_us_per_rt", 2), ("_written_bytes_per_msg", 0),
                                  ("_disk_mb_per_1m_msgs", 1),
                                  ("_apparent_mb_per_1m_msgs", 1)):
                    k = pre + suffix
                    if not ra.get(k):
                        continue
                    flag = ""
                    if suffix == "_vs_mem_throughput":
                        low = ra[k]["median"] < STORE_FLOOR
                        flag = "  BELOW FLOOR %.1f (%s vs %s)" % (STORE_FLOOR, variant, base) \
                            if low else ("  (some reps below %.1f)" % STORE_FLOOR
                                         if ra[k]["min"] < STORE_FLOOR else "")
                    w("    %-30s %s [%s]%s\n" % (k, fmt(ra[k], d),
                                                 fmt(pick(rq, k, "median"), d), flag))
    w("\n== Targets (medians of per-rep ratios, all runs)\n")
    for t in targets:
        state = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        w("  %-3s %-58s %-12s %s %s\n" % (t["id"], t["what"],
                                           fmt(t["value"], 3 if t["id"] != "G8" else 0), state,
                                           t["detail"]))
    bad = [r for r in runs if not r["ok"] and not r.get("skipped")]
    noisy = [r for r in runs if r.get("noisy")]
    skipped = {}
    for r in runs:
        if r.get("skipped"):
            skipped.setdefault(r["config"], [0, r["skipped"]])[0] += 1
    w("\n%d runs, %d failed, %d noisy, %d skipped\n" % (
        len(runs), len(bad), len(noisy), sum(n for n, _ in skipped.values())))
    for config, (n, why) in sorted(skipped.items()):
        w("  %s: %d run(s) skipped: %s\n" % (config, n, why))
    for r in bad:
        w("  FAILED %s %s c%d w%d %s rep %d: %s (logs: %s)\n" % (
            r["config"], r["mix"], r["sessions"], r["window"], r["mode"], r["rep"],
            "; ".join(r["problems"]), r.get("logs")))


# ---------------------------------------------------------------------------------------------
# The matrix, rep-major.


@contextlib.contextmanager
def maybe_lock(path):
    if not path:
        yield
        return
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for the lock %s" % path)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def run_matrices(bins, args, matrices, outdir, jl):
    runs = []
    capacity = {}  # (config, mix, sessions, window) -> last closed-loop submit_sm/s
    seq = 0
    total_reps = max(m["reps"] for m in matrices)
    for rep in range(total_reps):
        with maybe_lock(args.lock):
            log("rep %d/%d" % (rep + 1, total_reps))
            for m in matrices:
                if rep >= m["reps"]:
                    continue
                points = [(mix, c, w) for mix in m["mixes"] for c in m["binds"]
                          for w in m["windows"]]
                phases = ["closed"] + [x for x in m["modes"] if x != "closed"]
                this_rep = {}
                for mode in phases:
                    if mode != "closed" and not mode.startswith("open"):
                        raise SystemExit("unknown mode " + mode)
                    load = None if mode == "closed" else int(mode[4:] or 50) / 100.0
                    for config in args.configs:
                        for (mix, c, w) in points:
                            rate = None
                            if load is not None:
                                ref = reference_capacity(this_rep, capacity, args.open_ref,
                                                         config, mix, c, w)
                                if not ref:
                                    log("  skip %s %s c%d w%d %s: no capacity measured" %
                                        (config, mix, c, w, mode))
                                    continue
                                rate = load * ref
                            mo = 0.0
                            if mix == "realistic":
                                expect = rate or capacity.get((config, mix, c, w)) or \
                                    args.mo_default_base
                                mo = 0.02 * expect
                            seq += 1
                            rec = measure(bins, args, outdir, seq, rep, config, mix, c, w, mode,
                                          load, rate, m["duration"], mo)
                            runs.append(rec)
                            jl.write(json.dumps(rec) + "\n")
                            jl.flush()
                            if mode == "closed" and rec["ok"]:
                                this_rep[(config, mix, c, w)] = rec["throughput"]
                                capacity[(config, mix, c, w)] = rec["throughput"]
                            if rec.get("skipped"):
                                log("  %-7s %-9s c%d w%-3d %-7s skipped: %s" % (
                                    config, mix, c, w, mode, rec["skipped"]))
                                continue
                            log("  %-7s %-9s c%d w%-3d %-7s %s %10s/s p50 %7s us  mid %s ns/rt "
                                "%s sc/rt  foreign %s%%%s" % (
                                    config, mix, c, w, mode,
                                    "ok  " if rec["ok"] else "FAIL",
                                    fmt(rec.get("throughput")), fmt(rec.get("p50_us"), 1),
                                    fmt(rec.get("mid_cpu_ns_per_rt")),
                                    fmt(rec.get("mid_syscalls_per_rt"), 2),
                                    fmt(pick(rec, "machine", "foreign_pct")),
                                    " NOISY" if rec.get("noisy") else ""))
                            if not rec["ok"]:
                                log("    " + "; ".join(rec["problems"]))
    return runs


def reference_capacity(this_rep, capacity, open_ref, config, mix, c, w):
    """Open loop runs at a fraction of a closed-loop capacity measured in this rep. With
    --open-ref gateway (default) every config gets the same offered load (the gateway's), so
    added latencies compare at equal load; with `self` each config its own capacity."""
    order = [config] if open_ref == "self" else [open_ref, "gateway", "uvpure", "direct"]
    for cfg in order:
        v = this_rep.get((cfg, mix, c, w))
        if v:
            return v
    for cfg in order:
        v = capacity.get((cfg, mix, c, w))
        if v:
            return v
    return None


# ---------------------------------------------------------------------------------------------
# Callgrind: marginal instructions per round trip, (Ir(2N) - Ir(N)) / N.

CG_CASES = [  # (name, window, receipts, n attribute)
    ("W100", 100, False, "cg_n100"),
    ("W1", 1, False, "cg_n1"),
    ("W100+receipts", 100, True, "cg_nrcpt"),
]


def callgrind_totals(path):
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    return total


ANNOT_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*\S)\s*$")
FILE_RE = re.compile(r"^[^:]*?(?<!:):(?!:)")


def function_name(entry):
    """'file:function [object]' -> 'function' (code inlined from headers counts for the function
    it was inlined into, as callgrind_annotate lists it under that function's name)."""
    obj = re.search(r" \[([^\]]*)\]$", entry)
    entry = re.sub(r" \[[^\]]*\]$", "", entry)
    fn = FILE_RE.sub("", entry, count=1)
    if fn.startswith("0x") and obj:  # no symbol: name the object it is in
        fn = "%s in %s" % (fn, os.path.basename(obj.group(1)))
    return fn


def short_name(fn, width=100):
    """Drops the parameter list; keeps the tail of very long (template) names."""
    if "__visit_invoke" in fn:
        owner = re.search(r"(smppgw::[\w:]+)\(", fn)
        return "std::visit dispatch in " + (owner.group(1) if owner else "?")
    depth, cut = 0, len(fn)
    for i, ch in enumerate(fn):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0 and i > 0 and \
                not fn.startswith("(anonymous namespace)", i):
            cut = i
            break
    name = fn[:cut]
    return name if len(name) <= width else "..." + name[-(width - 3):]


def callgrind_functions(path):
    """Self cost (Ir) by function, from callgrind_annotate's function table."""
    exe = shutil.which("callgrind_annotate")
    if not exe:
        return {}
    res = subprocess.run([exe, "--threshold=100", "--inclusive=no", "--auto=no", path],
                         capture_output=True, text=True, timeout=300)
    funcs = {}
    for line in res.stdout.splitlines():
        m = ANNOT_RE.match(line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        fn = function_name(m.group(2))
        funcs[fn] = funcs.get(fn, 0) + int(m.group(1).replace(",", ""))
    return funcs


def cg_one(bins, args, outdir, target, case, window, receipts, n):
    rundir = os.path.join(outdir, "cg", "%s-%s-%d" % (target, case.replace("+", "_"), n))
    os.makedirs(rundir, exist_ok=True)
    cgout = os.path.join(rundir, "callgrind.out")
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cgout]
    stack = Stack(bins, target, rundir, 1, window, 1, 0.0, valgrind=vg, ready_timeout=180)
    try:
        bargs = ["--sessions", "1", "--window", str(window), "--count", str(n), "--mix",
                 "minimal", "--enquire-link", "0", "--response-timeout", "60s",
                 "--receipt-timeout", "60s"]
        if receipts:
            bargs.append("--receipts")
        rc, rep = run_bench(bins, rundir, stack.port, bargs, 900)
        mid_stats, mid_rc, _, _ = stack.stop(timeout=300)
        stack = None
    finally:
        if stack is not None:
            stack.kill()
    ir = callgrind_totals(cgout) if os.path.exists(cgout) else None
    problems = []
    if rc != 0 or rep.get("responses") != n:
        problems.append("bench exit %s, %s/%s answered" % (rc, rep.get("responses"), n))
    if mid_rc != 0:
        problems.append("%s exit %s" % (target, mid_rc))
    if ir is None:
        problems.append("no callgrind totals")
    return {"target": target, "case": case, "n": n, "ir": ir, "bench_exit": rc,
            "responses": rep.get("responses"),
            "receipts_matched": pick(rep, "receipts", "matched"),
            "mid_loop": pick(mid_stats, "loop"), "file": cgout, "problems": problems}


def run_cg(bins, args, outdir, jl):
    if not shutil.which("valgrind"):
        raise SystemExit("smpp-benchrun: valgrind is not installed")
    results = []
    summary = {"cases": []}
    with maybe_lock(args.lock):
        for name, window, receipts, nattr in CG_CASES:
            n = getattr(args, nattr)
            for target in args.cg_targets:
                pair = []
                for k in (n, 2 * n):
                    log("callgrind %s %s N=%d" % (target, name, k))
                    try:
                        r = cg_one(bins, args, outdir, target, name, window, receipts, k)
                    except RunError as e:
                        r = {"target": target, "case": name, "n": k, "ir": None,
                             "mid_loop": None, "file": None, "problems": [str(e)]}
                    jl.write(json.dumps(dict(r, kind="cg")) + "\n")
                    jl.flush()
                    results.append(r)
                    pair.append(r)
                a, b = pair
                entry = {"target": target, "case": name, "window": window,
                         "receipts": receipts, "n": n, "ir_n": a["ir"], "ir_2n": b["ir"],
                         "problems": a["problems"] + b["problems"]}
                if a["ir"] is not None and b["ir"] is not None:
                    entry["instr_per_rt"] = (b["ir"] - a["ir"]) / n
                    la, lb = a["mid_loop"], b["mid_loop"]
                    if la and lb:
                        entry["reads_per_rt"] = (lb["reads"] - la["reads"]) / n
                        entry["writes_per_rt"] = (lb["writes"] - la["writes"]) / n
                        entry["iterations_per_rt"] = (lb["iterations"] - la["iterations"]) / n
                    fa, fb = callgrind_functions(a["file"]), callgrind_functions(b["file"])
                    marg = {f: (fb.get(f, 0) - fa.get(f, 0)) / n for f in set(fa) | set(fb)}
                    top = sorted(marg.items(), key=lambda kv: -kv[1])[:args.cg_top]
                    entry["top"] = [{"function": short_name(f, 160), "instr_per_rt": v}
                                    for f, v in top]
                log("  %s %s: %s instructions per round trip" % (
                    target, name, fmt(entry.get("instr_per_rt"), 1)))
                summary["cases"].append(entry)
                if not args.keep_logs and not entry["problems"]:
                    for r in pair:
                        shutil.rmtree(os.path.dirname(r["file"]), ignore_errors=True)
                else:
                    entry["logs"] = [os.path.dirname(r["file"]) for r in pair if r["file"]]
    summary["targets"] = cg_targets(summary["cases"])
    return results, summary


def cg_targets(cases):
    def get(target, case):
        for c in cases:
            if c["target"] == target and c["case"] == case:
                return c.get("instr_per_rt")
        return None

    g1, g2, g3 = get("gateway", "W100"), get("gateway", "W1"), get("gateway", "W100+receipts")
    u1 = get("uvpure", "W1")
    out = [{"id": "G1", "what": "instructions per submit round trip, W=100 (<= 2,000; aim "
            "<= 1,000)", "value": g1, "met": None if g1 is None else g1 <= 2000,
            "uvpure": get("uvpure", "W100")},
           {"id": "G2", "what": "instructions per round trip, W=1 (<= uvpure + 2,000)",
            "value": g2, "uvpure": u1,
            "met": None if g2 is None or u1 is None else g2 <= u1 + 2000},
           {"id": "G3", "what": "instructions per submit + receipt pair, W=100 (<= 4,000)",
            "value": g3, "met": None if g3 is None else g3 <= 4000,
            "uvpure": get("uvpure", "W100+receipts")}]
    return out


def print_cg(summary, out=sys.stdout):
    w = out.write
    w("\n== Callgrind: marginal user-space instructions per round trip, (Ir(2N)-Ir(N))/N\n")
    w("  %-8s %-14s %8s %14s %14s %12s %s\n" % ("target", "case", "N", "Ir(N)", "Ir(2N)",
                                                "instr/rt", "reads/writes/iterations per rt"))
    for c in summary["cases"]:
        w("  %-8s %-14s %8d %14s %14s %12s %s/%s/%s %s\n" % (
            c["target"], c["case"], c["n"], fmt(c["ir_n"]), fmt(c["ir_2n"]),
            fmt(c.get("instr_per_rt"), 1), fmt(c.get("reads_per_rt"), 3),
            fmt(c.get("writes_per_rt"), 3), fmt(c.get("iterations_per_rt"), 3),
            "; ".join(c["problems"])))
    for t in summary["targets"]:
        state = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        w("  %-3s %-62s %10s %s (uvpure %s)\n" % (t["id"], t["what"], fmt(t["value"], 1),
                                                  state, fmt(t.get("uvpure"), 1)))
    for c in summary["cases"]:
        if c["target"] == "gateway" and c.get("top"):
            w("\n  top functions, gateway %s (self instructions per round trip):\n" % c["case"])
            for f in c["top"]:
                w("    %10s  %s\n" % (fmt(f["instr_per_rt"], 1), short_name(f["function"], 100)))


# ---------------------------------------------------------------------------------------------
# Memory: resident size of the gateway with many idle bound sessions.


def run_memory(bins, args, outdir, jl, config="gateway"):
    """The gateway's resident size with N idle bound sessions (config gateway-tls: over TLS)."""
    total = args.memory_sessions
    per = args.memory_per_bench
    nbench = (total + per - 1) // per
    rundir = os.path.join(outdir, "memory" if config == "gateway" else "memory-" + config)
    os.makedirs(rundir, exist_ok=True)
    customers = [("bench%d" % i, "secret") for i in range(nbench)]
    res = {"kind": "memory", "config": config, "sessions": total, "bench_processes": nbench,
           "samples": [], "problems": []}
    benches = []
    stack = None
    with maybe_lock(args.lock):
        try:
            stack = Stack(bins, config, rundir, per, 1, 1, 0.0, gw_customers=customers,
                          max_connections=total + 1000, nofile=total + 2000, pki=args.pki)
            gw = stack.mid
            time.sleep(1.0)
            base = gw.rss_kb()
            res["samples"].append({"sessions": 0, "rss_kb": base})
            log("memory: gateway RSS %d KiB with no session" % base)
            bound = 0
            for i in range(nbench):
                n = min(per, total - bound)
                argv = [bins.bench, "--connect", "127.0.0.1:%d" % stack.port, "--sessions",
                        str(n), "--system-id", customers[i][0], "--password", "secret",
                        "--rate", "0.001", "--duration", "600s", "--window", "1",
                        "--enquire-link", "0", "--json", "--quiet"]
                if stack.pki:
                    argv += ["--tls", "--tls-ca", stack.pki["ca"]]
                benches.append(Proc("bench%d" % i, argv, rundir, nofile=n + 100))
                bound += n
                wait_until(lambda: stack.gateway_log_count("event=session_bound") >= bound,
                           60, "%d bound sessions" % bound, [gw] + benches)
                rss = gw.rss_kb()
                res["samples"].append({"sessions": bound, "rss_kb": rss})
                log("memory: %5d sessions bound, gateway RSS %d KiB" % (bound, rss))
            time.sleep(2.0)
            c0 = gw.cpu_s()
            time.sleep(3.0)
            c1 = gw.cpu_s()
            rss = gw.rss_kb()
            res["rss_kb"] = rss
            res["rss_mb"] = rss / 1024.0
            res["base_rss_kb"] = base
            res["per_session_bytes"] = (rss - base) * 1024.0 / total
            res["idle_cpu_pct"] = 100.0 * (c1 - c0) / 3.0
            res["met"] = rss / 1024.0 <= 200.0
            # Slope over the samples (least squares), in bytes per session.
            xs = [s["sessions"] for s in res["samples"]]
            ys = [s["rss_kb"] * 1024.0 for s in res["samples"]]
            if len(xs) > 1:
                mx, my = statistics.mean(xs), statistics.mean(ys)
                den = sum((x - mx) ** 2 for x in xs)
                res["slope_bytes_per_session"] = sum((x - mx) * (y - my)
                                                     for x, y in zip(xs, ys)) / den
        except RunError as e:
            res["problems"].append(str(e))
        finally:
            for b in benches:
                rc = b.stop(signal.SIGINT, 30)
                if rc not in (0, None):
                    rep = last_json_line(b.out())
                    # Interrupted idle sessions: not every receipt-less submit matters here.
                    if rep is None or pick(rep, "binds", "failed"):
                        res["problems"].append("%s exit %s" % (b.name, rc))
            if stack is not None:
                _, mid_rc, _, _ = stack.stop(timeout=60)
                if mid_rc != 0:
                    res["problems"].append("gateway exit %s" % mid_rc)
    jl.write(json.dumps(res) + "\n")
    if not res["problems"] and not args.keep_logs:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        res["logs"] = rundir
    return res


def print_memory(res, out=sys.stdout):
    w = out.write
    w("\n== Memory: gateway resident size with %d idle bound sessions%s (%d bench processes)\n" %
      (res["sessions"], " over TLS" if res.get("config") == "gateway-tls" else "",
       res["bench_processes"]))
    for s in res["samples"]:
        w("  %6d sessions: %8s KiB\n" % (s["sessions"], fmt(s["rss_kb"])))
    if "rss_mb" in res:
        w("  RSS %.1f MB (target <= 200 MB: %s); %s bytes/session above the %.1f MB base "
          "(slope %s B); gateway CPU while idle: %.1f %% of a core\n" % (
              res["rss_mb"], "met" if res["met"] else "MISSED", fmt(res["per_session_bytes"]),
              res["base_rss_kb"] / 1024.0, fmt(res.get("slope_bytes_per_session")),
              res["idle_cpu_pct"]))
    for p in res["problems"]:
        w("  PROBLEM: %s\n" % p)


# ---------------------------------------------------------------------------------------------
# Restart: the embedded store filled with N mappings, the gateway killed (SIGKILL) while the
# carrier still owes receipts, and started again on the same store.

SMPP_BIND_RECEIVER, SMPP_DELIVER_SM, SMPP_UNBIND, SMPP_ENQUIRE_LINK = 0x01, 0x05, 0x06, 0x15
SMPP_RESP = 0x80000000
TAG_RECEIPTED_MESSAGE_ID = 0x001E


def _cstring(body, pos):
    end = body.index(b"\0", pos)
    return body[pos:end], end + 1


def receipted_id(body):
    """The receipted_message_id of a deliver_sm body (its TLV, else the text's id:), or None."""
    try:
        _, pos = _cstring(body, 0)  # service_type
        _, pos = _cstring(body, pos + 2)  # source_addr_ton, _npi, source_addr
        _, pos = _cstring(body, pos + 2)  # dest_addr_ton, _npi, destination_addr
        _, pos = _cstring(body, pos + 3)  # esm_class, protocol_id, priority_flag, schedule
        _, pos = _cstring(body, pos)  # validity_period
        pos += 4  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
        n = body[pos]
        text = body[pos + 1:pos + 1 + n]
        pos += 1 + n
        while pos + 4 <= len(body):
            tag, length = struct.unpack_from(">HH", body, pos)
            if tag == TAG_RECEIPTED_MESSAGE_ID:
                return body[pos + 4:pos + 4 + length].rstrip(b"\0").decode("latin-1")
            pos += 4 + length
        m = re.search(rb"id:(\S+)", text)
        return m.group(1).decode("latin-1") if m else None
    except (ValueError, IndexError, struct.error):
        return None


class Receiver(threading.Thread):
    """A customer bound as a receiver (bind_receiver, v3.4), in a thread of this script: it
    answers every deliver_sm and enquire_link and notes when the deliver_sm arrive. (smpp-bench
    has no receive-only mode: it binds to submit.) Not on a measured CPU path."""

    def __init__(self, port, system_id, password):
        super().__init__(daemon=True)
        self.port, self.system_id, self.password = port, system_id, password
        self.connected_at = self.bound_at = self.first_at = self.last_at = None
        self.count = 0
        self.ids = set()
        self.error = None
        self._stopping = threading.Event()
        self.sock = None

    def _send(self, command, seq, body=b"", status=0):
        self.sock.sendall(struct.pack(">IIII", 16 + len(body), command, status, seq) + body)

    def run(self):
        try:
            self._run()
        except (OSError, ValueError) as e:
            if not self._stopping.is_set():
                self.error = "receiver: %s" % e
        finally:
            if self.sock is not None:
                with contextlib.suppress(OSError):
                    self.sock.close()

    def _run(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.connected_at = time.monotonic()
        self.sock.settimeout(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send(SMPP_BIND_RECEIVER, 1, self.system_id.encode() + b"\0" +
                   self.password.encode() + b"\0" + b"\0" + bytes([0x34, 0, 0]) + b"\0")
        buf = b""
        unbind_at = None
        while True:
            if self._stopping.is_set() and unbind_at is None:
                self._send(SMPP_UNBIND, 2)
                unbind_at = time.monotonic()
            if unbind_at is not None and time.monotonic() - unbind_at > 2.0:
                return
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            if not data:
                if unbind_at is None and not self._stopping.is_set():
                    raise ValueError("the gateway closed the receiver's connection")
                return
            buf += data
            while len(buf) >= 16:
                length, command, status, seq = struct.unpack_from(">IIII", buf)
                if length < 16 or length > (1 << 20):
                    raise ValueError("bad command_length %d" % length)
                if len(buf) < length:
                    break
                body, buf = buf[16:length], buf[length:]
                now = time.monotonic()
                if command == SMPP_BIND_RECEIVER | SMPP_RESP:
                    if status != 0:
                        raise ValueError("bind_receiver refused: command_status 0x%08x" % status)
                    self.bound_at = now
                elif command == SMPP_DELIVER_SM:
                    self._send(SMPP_DELIVER_SM | SMPP_RESP, seq, b"\0")
                    if self.first_at is None:
                        self.first_at = now
                    self.last_at = now
                    self.count += 1
                    rid = receipted_id(body)
                    if rid:
                        self.ids.add(rid)
                elif command in (SMPP_ENQUIRE_LINK, SMPP_UNBIND):
                    self._send(command | SMPP_RESP, seq)
                    if command == SMPP_UNBIND:
                        return
                elif command == SMPP_UNBIND | SMPP_RESP:
                    return
                elif not command & SMPP_RESP:
                    self._send(SMPP_RESP, seq, status=0x03)  # generic_nack ESME_RINVCMDID

    def stop(self):
        self._stopping.set()
        self.join(5)


def run_restart(bins, args, outdir, jl):
    """Fills an embedded store with --restart-mappings mappings (minimal mix, no receipts, in
    bench runs of --restart-chunk, the lock taken per chunk), submits --restart-owed more with
    receipts that smpp-mcsim sends --restart-receipt-delay later, kills the gateway with SIGKILL
    once they are answered, waits until every owed receipt is due (queued in smpp-mcsim for the
    gateway's binds), starts the gateway again on the same store and times, from its exec:
    `event=listening` (ready to serve), its port file, its upstream binds, a receiver of the
    customer bound, the first owed receipt delivered to it, all of them, and the first store
    lookup found (smppgw_store_lookups_total{result="found"} > 0, polled every 10 ms)."""
    sync = args.store == "sync"
    config = "gateway-store-sync" if sync else "gateway-store"
    total, owed, delay = args.restart_mappings, args.restart_owed, args.restart_receipt_delay
    sessions = (args.binds or [4])[0]
    window = (args.windows or [50])[0]
    rundir = os.path.join(outdir, "restart")
    os.makedirs(rundir, exist_ok=True)
    store_dir = os.path.join(rundir, "store")
    res = {"kind": "restart", "config": config, "sync": sync, "store": store_dir,
           "mappings_target": total, "owed_target": owed, "receipt_delay_s": delay,
           "fill": {"sessions": sessions, "window": window, "mix": "minimal", "chunks": 0,
                    "mappings": 0, "seconds": 0.0},
           "from_exec_ms": {}, "problems": []}
    if config in args.skip:
        res["skipped"] = args.skip[config]
        jl.write(json.dumps(res) + "\n")
        shutil.rmtree(rundir, ignore_errors=True)
        return res
    shutil.rmtree(store_dir, ignore_errors=True)
    mc = gw = rx = None
    held = contextlib.ExitStack()  # the lock, while the processes start (not between chunks)
    held.enter_context(maybe_lock(args.lock))
    try:
        mc_port_file = os.path.join(rundir, "mcsim.port")
        mc = Proc("mcsim", [bins.mcsim, "--listen", "127.0.0.1:0", "--port-file", mc_port_file,
                            "--quiet", "--window", "1000",
                            "--receipt-delay", "%dms" % round(delay * 1000),
                            "--duration", "86400s"], rundir)
        mc_port = wait_until(lambda: read_port(mc_port_file), 10, "smpp-mcsim's port", [mc])
        cfg = gateway_config(mc_port, sessions, window, sessions, store={
            "type": "embedded", "path": store_dir, "sync": sync})
        cfg_path = os.path.join(rundir, "smppgw.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2)

        def start_gateway(name):
            port_file = os.path.join(rundir, name + ".port")
            with contextlib.suppress(FileNotFoundError):
                os.remove(port_file)
            t0 = time.monotonic()
            p = Proc(name, [bins.smppgw, "run", "-c", cfg_path, "--port-file", port_file],
                     rundir)
            return p, port_file, t0

        def bound(p):
            with open(p.err_path, errors="replace") as f:
                return f.read().count("event=upstream_bound") >= sessions

        gw, pf, _ = start_gateway("gateway1")
        ports1 = wait_until(lambda: read_ports(pf), args.restart_timeout, "gateway1's port",
                            [gw, mc])
        wait_until(lambda: bound(gw), 30, "gateway1's upstream binds", [gw, mc])
        held.close()

        # 1. The fill: mappings only (registered_delivery 0: the carrier owes nothing for them).
        fill = res["fill"]
        while fill["mappings"] < total:
            n = min(args.restart_chunk, total - fill["mappings"])
            with maybe_lock(args.lock):
                t = time.monotonic()
                rc, rep = run_bench(bins, rundir, ports1[0], [
                    "--sessions", str(sessions), "--window", str(window), "--mix", "minimal",
                    "--count", str(n), "--seed", str(fill["chunks"] + 1),
                    "--response-timeout", "10s"], max(120.0, n / 2000.0))
                fill["seconds"] += time.monotonic() - t
            fill["chunks"] += 1
            got = rep.get("responses_ok") or 0
            fill["mappings"] += got
            if rc != 0 or got != n:
                raise RunError("fill chunk %d: smpp-bench exit %s, %d of %d submits answered "
                               "ESME_ROK (%s)" % (fill["chunks"], rc, got, n,
                                                  json.dumps(rep.get("statuses"))))
            log("restart: %s of %s mappings stored (%s/s)" % (
                fmt(fill["mappings"]), fmt(total), fmt(fill["mappings"] / fill["seconds"])))
        fill["per_s"] = fill["mappings"] / fill["seconds"] if fill["seconds"] else None

        with maybe_lock(args.lock):
            # 2. Owed receipts: answered now, their receipts due `delay` later (the bench does
            # not wait for them).
            rc, rep = run_bench(bins, rundir, ports1[0], [
                "--sessions", "1", "--window", "10", "--mix", "minimal", "--receipts",
                "--receipt-timeout", "0s", "--count", str(owed), "--seed", "1000",
                "--response-timeout", "10s"], 120.0)
            t_owed = time.monotonic()
            owed_ok = rep.get("responses_ok") or 0
            res["owed"] = owed_ok
            res["owed_receipts_at_bench"] = pick(rep, "receipts", "matched")
            if owed_ok != owed:
                raise RunError("owed phase: %d of %d submits answered ESME_ROK (%s)" % (
                    owed_ok, owed, json.dumps(rep.get("statuses"))))
            mappings = fill["mappings"] + owed_ok
            res["mappings"] = mappings
            m = store_scrape(ports1[1] if len(ports1) > 1 else None, res, settle=True)
            for k in ("written_bytes", "writes_ok", "batches"):
                res[k] = m.get(k)
            for e in res.pop("store_errors", []):
                res["problems"].append("gateway1's metrics: %s" % e)
            res["gateway1_rss_kb"] = gw.rss_kb()

            # 3. The crash.
            gw.stop(signal.SIGKILL, 10)
            gw = None
            res["killed_after_owed_s"] = time.monotonic() - t_owed
            if res["killed_after_owed_s"] >= delay:
                res["notes"] = ["the kill came %.2f s after the owed submits, not before their "
                                "receipts were due (%.2f s): some may have reached the old gateway "
                                "(its outbox) instead of being owed by smpp-mcsim; use a longer "
                                "--restart-receipt-delay" % (res["killed_after_owed_s"], delay)]
            res["du_bytes_killed"], res["apparent_bytes_killed"] = dir_sizes(store_dir)
            if res.get("written_bytes"):
                res["written_bytes_per_mapping"] = res["written_bytes"] / mappings
            res["disk_bytes_per_mapping"] = res["du_bytes_killed"] / mappings
            res["apparent_bytes_per_mapping"] = res["apparent_bytes_killed"] / mappings
            due = t_owed + delay + 0.5 - time.monotonic()
            if due > 0:  # every owed receipt due, waiting in smpp-mcsim for the gateway's binds
                time.sleep(due)
            log("restart: %s mappings, %s MB on disk; killed; restarting" % (
                fmt(mappings), fmt(res["du_bytes_killed"] / 1e6, 1)))

            # 4. The restart, timed from exec.
            gw, pf, t0 = start_gateway("gateway2")
            ev = {k: None for k in ("listening", "port_file", "upstream_bound", "receiver_bound",
                                    "first_receipt", "all_receipts", "first_lookup_found")}
            ports2 = None
            next_scrape = 0.0
            deadline = t0 + args.restart_timeout
            while True:
                now = time.monotonic()
                if not gw.running():
                    raise RunError("gateway2 exited (code %s) after the restart: %s" % (
                        gw.p.returncode, gw.err()[-400:]))
                if ev["listening"] is None or ev["upstream_bound"] is None:
                    text = gw.err()
                    if ev["listening"] is None and "event=listening" in text:
                        ev["listening"] = now
                    if ev["upstream_bound"] is None and \
                            text.count("event=upstream_bound") >= sessions:
                        ev["upstream_bound"] = now
                if ports2 is None:
                    ports2 = read_ports(pf)
                    if ports2:
                        ev["port_file"] = now
                        rx = Receiver(ports2[0], "bench", "secret")
                        rx.start()
                if ports2 and len(ports2) > 1 and ev["first_lookup_found"] is None and \
                        now >= next_scrape:
                    with contextlib.suppress(OSError, ValueError):
                        m = scrape_metrics(ports2[1], 1.0)
                        if (m.get(STORE_SERIES["lookups_found"]) or 0) > 0:
                            ev["first_lookup_found"] = time.monotonic()
                    next_scrape = now + 0.01
                if rx is not None:
                    if rx.error:
                        raise RunError(rx.error)
                    ev["receiver_bound"] = rx.bound_at
                    ev["first_receipt"] = rx.first_at
                    if rx.count >= owed_ok and ev["all_receipts"] is None:
                        ev["all_receipts"] = rx.last_at
                if ev["all_receipts"] is not None and (
                        ev["first_lookup_found"] is not None or now > ev["all_receipts"] + 1.0):
                    break
                if now > deadline:
                    res["problems"].append("%.0f s after the restart, still waiting for: %s" % (
                        args.restart_timeout, ", ".join(k for k, v in ev.items() if v is None)))
                    break
                time.sleep(0.001)
            res["from_exec_ms"] = {k: None if v is None else (v - t0) * 1000.0
                                   for k, v in ev.items()}
            text = gw.err()
            res["store_open_ms"], res["newest_id"], res["outbox_waiting"] = \
                store_open_info(text)
            if ports2 and len(ports2) > 1:
                with contextlib.suppress(OSError, ValueError):
                    m = scrape_metrics(ports2[1])
                    res["lookups_found"] = m.get(STORE_SERIES["lookups_found"])
                    res["lookups_missing"] = m.get(STORE_SERIES["lookups_missing"])
            res["gateway2_rss_kb"] = gw.rss_kb()
            if rx is not None:
                rx.stop()
                res["receipts_received"] = rx.count
                res["receipts_distinct"] = len(rx.ids)
                if rx.count < owed_ok:
                    res["problems"].append("%d of %d owed receipts reached the receiver" % (
                        rx.count, owed_ok))
                rx = None
            rc = gw.stop(signal.SIGTERM, 30)
            gw = None
            if rc != 0:
                res["problems"].append("gateway2 exit code %s on SIGTERM" % rc)
            res["du_bytes_closed"], res["apparent_bytes_closed"] = dir_sizes(store_dir)
            mc_rc = mc.stop(signal.SIGTERM, 30)
            mc_sum = last_json_line(mc.out())
            mc = None
            res["mcsim_receipts"] = pick(mc_sum, "receipts")
            if mc_rc != 0:
                res["problems"].append("smpp-mcsim exit code %s" % mc_rc)
    except RunError as e:
        res["problems"].append(str(e))
    finally:
        if rx is not None:
            rx.stop()
        for p in (gw, mc):
            if p is not None:
                p.stop(signal.SIGKILL, 5)
        held.close()
        if not args.keep_logs:
            shutil.rmtree(store_dir, ignore_errors=True)
    jl.write(json.dumps(res) + "\n")
    if not res["problems"] and not args.keep_logs:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        res["logs"] = rundir
    return res


def print_restart(res, out=sys.stdout):
    w = out.write
    w("\n== Restart: %s (store.sync %s), gateway killed with SIGKILL, started again on the same "
      "store\n" % (res["config"], "true" if res["sync"] else "false"))
    if res.get("skipped"):
        w("  skipped: %s\n" % res["skipped"])
        return
    f = res["fill"]
    w("  fill: %s mappings in %s s (%s/s; %d x W%d, minimal mix, no receipts, %d bench run(s))\n"
      % (fmt(f["mappings"]), fmt(f["seconds"], 1), fmt(f.get("per_s")), f["sessions"],
         f["window"], f["chunks"]))
    if "du_bytes_killed" in res:
        w("  store after the kill: %s MB on disk (du; apparent size %s MB) for %s mappings: "
          "%s B per mapping on disk (apparent %s B), %s B per mapping handed to the store "
          "(smppgw_store_written_bytes_total); %s MB on disk after the clean stop\n" % (
              fmt(res["du_bytes_killed"] / 1e6, 1), fmt(res["apparent_bytes_killed"] / 1e6, 1),
              fmt(res.get("mappings")), fmt(res.get("disk_bytes_per_mapping"), 1),
              fmt(res.get("apparent_bytes_per_mapping"), 1),
              fmt(res.get("written_bytes_per_mapping"), 1),
              fmt((res["du_bytes_closed"] / 1e6) if res.get("du_bytes_closed") is not None
                  else None, 1)))
    t = res.get("from_exec_ms") or {}
    if t:
        w("  from exec: store opened in %s ms (store_opened ms=); listening %s ms; port file %s "
          "ms; %d upstream binds %s ms\n" % (
              fmt(res.get("store_open_ms")), fmt(t.get("listening"), 1),
              fmt(t.get("port_file"), 1), f["sessions"], fmt(t.get("upstream_bound"), 1)))
        w("  owed receipts (%s, due %s s after their submits, the gateway killed %s s after "
          "them; %s reached the bench before it left): receiver bound %s ms; first delivered %s "
          "ms; all %s ms (%s received, %s distinct ids); first store lookup found (metrics, "
          "published every 100 ms, polled every 10 ms) %s ms\n" % (
              fmt(res.get("owed")), fmt(res["receipt_delay_s"], 1),
              fmt(res.get("killed_after_owed_s"), 2),
              fmt(res.get("owed_receipts_at_bench")), fmt(t.get("receiver_bound"), 1),
              fmt(t.get("first_receipt"), 1), fmt(t.get("all_receipts"), 1),
              fmt(res.get("receipts_received")), fmt(res.get("receipts_distinct")),
              fmt(t.get("first_lookup_found"), 1)))
        w("  gateway RSS: %s MB before the kill, %s MB after the restart; store lookups found %s, "
          "missing %s\n" % (
              fmt((res.get("gateway1_rss_kb") or 0) / 1024.0, 1),
              fmt((res.get("gateway2_rss_kb") or 0) / 1024.0, 1),
              fmt(res.get("lookups_found")), fmt(res.get("lookups_missing"))))
    for n in res.get("notes", []):
        w("  NOTE: %s\n" % n)
    for p in res["problems"]:
        w("  PROBLEM: %s\n" % p)


# ---------------------------------------------------------------------------------------------


def source_state():
    """The commit and the uncommitted files of the source tree, if this script is in one."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain"], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
        return {"commit": head or None, "uncommitted": [d[3:] for d in dirty]}
    except (OSError, subprocess.SubprocessError):
        return None


def csv_list(kind):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        try:
            return [kind(x) for x in items]
        except ValueError:
            raise argparse.ArgumentTypeError("expects a comma-separated list")
    return parse


def report_only(args):
    runs = []
    for i, path in enumerate(args.report):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("kind") == "run":
                    r["rep"] = i * 1000 + r["rep"]  # reps of different files never pair up
                    runs.append(r)
    points = summarize(runs, args.noise_threshold)
    targets = evaluate_targets(points)
    print_report(points, targets, runs)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.report[0])),
                                   "summary-report.json")
    with open(out, "w") as f:
        json.dump({"tool": "smpp-benchrun", "sources": args.report, "points": points,
                   "targets": targets, "runs": len(runs),
                   "noise_threshold_pct": args.noise_threshold}, f, indent=1)
    print("\nsummary: " + out)
    return 0 if runs and all(r["ok"] or r.get("skipped") for r in runs) else 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="smpp-benchrun",
        description="Benchmark harness: direct / uvpure / gateway, interleaved "
        "(docs/benchmarks.md)")
    ap.add_argument("--profile", default="ratios",
                    choices=sorted(list(PROFILES) + list(SPECIAL_PROFILES)),
                    help="what to run (default ratios)")
    ap.add_argument("--build-dir", help="build tree with gateway/smppgw and tools/*/ (default: "
                    "the tree this script is in, else ./build, else next to the script)")
    ap.add_argument("--out", help="results directory (default BUILD/benchrun/PROFILE-TIME)")
    g = ap.add_argument_group("matrix (override the profile's)")
    g.add_argument("--reps", type=int, help="repetitions (default 5; smoke 2)")
    g.add_argument("--duration", type=float, help="seconds of load per run")
    g.add_argument("--configs", type=csv_list(str), default=None,
                   help="subset of direct,uvpure,gateway (default all three; with "
                   "--compare-smppgw also gateway-b; --tls and --store add their variants)")
    g.add_argument("--compare-smppgw", metavar="PATH",
                   help="A/B: also run this smppgw binary as config gateway-b, interleaved "
                   "with the others; reports B_vs_A ratios (CPU, throughput, p50) per rep")
    g.add_argument("--tls", choices=["off", "on", "both"], default=None,
                   help="on: direct and gateway configs run over TLS (direct-tls, gateway-tls; "
                   "uvpure has none); both: plaintext and TLS, interleaved (default off; the tls "
                   "profile: gateway and gateway-tls)")
    g.add_argument("--store", choices=["off", "embedded", "sync", "all"], default="off",
                   help="the durable store: embedded adds gateway-store (store.type embedded, "
                   "sync false; a fresh directory per run), sync adds gateway-store-sync (sync "
                   "true), all both; each runs next to its memory-store gateway config (and "
                   "gateway-b's, if that binary has the embedded store) in every rep, and is "
                   "reported against it (default off). --profile restart: sync makes its store "
                   "sync true")
    g.add_argument("--windows", type=csv_list(int))
    g.add_argument("--binds", type=csv_list(int), help="bench sessions (customer binds)")
    g.add_argument("--mixes", type=csv_list(str), help="minimal,realistic")
    g.add_argument("--modes", type=csv_list(str), help="closed,open50,open80 (openNN: NN %% of "
                   "the closed-loop capacity measured in the same rep)")
    g.add_argument("--upstream-binds", type=int, default=0,
                   help="gateway binds to mcsim (default 0: as many as bench sessions, like the "
                   "relay's one upstream connection per downstream one)")
    g.add_argument("--open-ref", default="gateway", choices=["gateway", "uvpure", "direct",
                                                             "self"],
                   help="whose closed-loop capacity sets the open-loop rate (default gateway: "
                   "the same offered load for all three configs)")
    g.add_argument("--mo-default-base", type=float, default=20000.0,
                   help="realistic closed loop, first rep: MO rate = 2%% of this (later reps: 2%% "
                   "of the capacity measured before)")
    g.add_argument("--noise-threshold", type=float, default=20.0,
                   help="foreign CPU (%% of one core) above which a run is noisy (default 20)")
    c = ap.add_argument_group("callgrind (--profile cg)")
    c.add_argument("--cg-n1", type=int, default=10000, help="N at W=1 (default 10000)")
    c.add_argument("--cg-n100", type=int, default=200000, help="N at W=100 (default 200000)")
    c.add_argument("--cg-nrcpt", type=int, default=100000,
                   help="N with receipts at W=100 (default 100000)")
    c.add_argument("--cg-targets", type=csv_list(str), default=["gateway", "uvpure"])
    c.add_argument("--cg-top", type=int, default=25, help="functions listed per case")
    m = ap.add_argument_group("memory (--profile memory)")
    m.add_argument("--memory-sessions", type=int, default=10000)
    m.add_argument("--memory-per-bench", type=int, default=1000,
                   help="sessions per smpp-bench process and customer (max_binds <= 1000)")
    r = ap.add_argument_group("restart (--profile restart)")
    r.add_argument("--restart-mappings", type=int, default=10000000,
                   help="mappings stored before the kill (default 10,000,000)")
    r.add_argument("--restart-owed", type=int, default=1000,
                   help="messages submitted last, whose receipts are owed across the restart "
                   "(default 1000)")
    r.add_argument("--restart-receipt-delay", type=float, default=3.0,
                   help="seconds smpp-mcsim waits before sending a receipt (default 3): the "
                   "owed receipts are answered, the gateway killed, and it is started again "
                   "once they are all due")
    r.add_argument("--restart-chunk", type=int, default=1000000,
                   help="fill submits per smpp-bench run; --lock is taken per run (default "
                   "1,000,000)")
    r.add_argument("--restart-timeout", type=float, default=300.0,
                   help="seconds from the restart's exec to wait for it to serve and deliver "
                   "every owed receipt (default 300)")
    ap.add_argument("--lock", help="flock this file around each rep (e.g. /tmp/smppgw-build.lock) "
                    "so nothing else runs during measurements; released between reps")
    ap.add_argument("--keep-logs", action="store_true", help="keep every run's logs")
    ap.add_argument("--report", nargs="+", metavar="RUNS_JSONL",
                    help="run nothing: summarize runs.jsonl files of earlier invocations "
                    "(several are merged; reps are renumbered per file)")
    args = ap.parse_args(argv)
    if args.report:
        return report_only(args)
    if args.configs is None:
        if args.profile == "tls":
            args.configs = ["gateway"] + (["gateway-b"] if args.compare_smppgw else [])
        else:
            args.configs = list(CONFIGS[:3]) + (["gateway-b"] if args.compare_smppgw else [])
    tls = args.tls or ("both" if args.profile == "tls" else "off")
    if tls != "off":
        variants = [TLS_VARIANTS[c] for c in args.configs if c in TLS_VARIANTS]
        if not variants:
            ap.error("--tls %s needs a direct or gateway config" % tls)
        plain = [c for c in args.configs if not c.endswith("-tls")]
        args.configs = (plain if tls == "both" else []) + \
            [v for v in variants if v not in plain]
    if args.store != "off" and args.profile not in SPECIAL_PROFILES:
        bases = [c for c in args.configs if c in ("gateway", "gateway-b")]
        if not bases:
            ap.error("--store %s needs the plaintext gateway config (not --tls on)" % args.store)
        with_store = []
        for c in args.configs:  # each store variant right after its memory-store config
            with_store.append(c)
            if c in bases:
                with_store += [c + sfx for sfx in STORE_SUFFIXES[args.store]]
        args.configs = with_store
    args.configs = list(dict.fromkeys(args.configs))  # each once, in order
    for cfg in args.configs:
        if cfg not in CONFIGS:
            ap.error("unknown config " + cfg)
    if args.profile == "restart":
        if args.restart_mappings < 1 or args.restart_owed < 1 or args.restart_chunk < 1:
            ap.error("--restart-mappings, --restart-owed and --restart-chunk must be >= 1")
        if args.store == "all":
            ap.error("--profile restart takes --store embedded (default) or sync")
    if any(c.startswith("gateway-b") for c in args.configs) and not args.compare_smppgw:
        ap.error("gateway-b needs --compare-smppgw PATH")
    bins = Binaries(args.build_dir)
    bins.smppgw_b = os.path.abspath(args.compare_smppgw) if args.compare_smppgw else None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = args.out or os.path.join(bins.base, "benchrun", "%s-%s" % (args.profile, stamp))
    os.makedirs(outdir, exist_ok=True)
    args.pki, args.skip = tls_support(bins, outdir, args.configs)
    args.skip.update(store_support(bins, outdir, args.configs if args.profile != "restart" else
                                   ["gateway-store-sync" if args.store == "sync"
                                    else "gateway-store"]))
    for config, why in args.skip.items():
        log("%s: skipped: %s" % (config, why))

    def on_signal(signum, _frame):
        kill_children()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    summary = {"tool": "smpp-benchrun", "profile": args.profile, "started": stamp,
               "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                           "loadavg_start": os.getloadavg()},
               "binaries": bins.base, "source": source_state(),
               "noise_threshold_pct": args.noise_threshold}
    started = time.monotonic()
    ok = True
    try:
        with open(os.path.join(outdir, "runs.jsonl"), "w") as jl:
            if args.profile == "cg":
                _, cg = run_cg(bins, args, outdir, jl)
                summary["callgrind"] = cg
                ok = all(not c["problems"] for c in cg["cases"])
                print_cg(cg)
            elif args.profile == "restart":
                res = run_restart(bins, args, outdir, jl)
                summary["restart"] = res
                ok = not res["problems"]
                print_restart(res)
            elif args.profile == "memory":
                # --tls on: over TLS; both: plaintext, then TLS.
                configs = [c for c in ("gateway", "gateway-tls") if c in args.configs] or \
                    ["gateway"]
                for config in configs:
                    res = run_memory(bins, args, outdir, jl, config)
                    summary["memory" if config == "gateway" else "memory_tls"] = res
                    ok = ok and not res["problems"]
                    print_memory(res)
            else:
                matrices = []
                for mx in PROFILES[args.profile]:
                    mx = dict(mx)
                    for k in ("reps", "duration", "windows", "binds", "mixes", "modes"):
                        v = getattr(args, k)
                        if v is not None:
                            mx[k] = v
                    matrices.append(mx)
                summary["matrices"] = matrices
                summary["configs"] = args.configs
                summary["tls_pki"] = args.pki
                runs = run_matrices(bins, args, matrices, outdir, jl)
                points = summarize(runs, args.noise_threshold)
                targets = evaluate_targets(points)
                summary.update({"points": points, "targets": targets, "runs": len(runs),
                                "failed": sum(1 for r in runs
                                              if not r["ok"] and not r.get("skipped")),
                                "skipped": {r["config"]: r["skipped"] for r in runs
                                            if r.get("skipped")},
                                "noisy": sum(1 for r in runs if r.get("noisy"))})
                ok = bool(runs) and all(r["ok"] or r.get("skipped") for r in runs)
                print_report(points, targets, runs)
    finally:
        kill_children()
    summary["elapsed_s"] = time.monotonic() - started
    summary["ok"] = ok
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("\nresults: %s (runs.jsonl, summary.json); %.0f s; %s" % (
        outdir, summary["elapsed_s"], "OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
