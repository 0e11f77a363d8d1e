#!/usr/bin/env python3
"""Ctrl-C on deploy/demo.sh drains the gateway and exits 0.

Runs the README's demo script (`deploy/demo.sh --no-build`, on this build tree) as a terminal runs
a foreground job: in a process group of its own. Once it says it is running, 100 messages go
through it with smpp-bench (every receipt back), then SIGINT goes to the whole process group, as
the terminal sends it on Ctrl-C. The script must exit 0 and the gateway's log must show one signal
and a completed graceful shutdown, never an immediate exit.

The demo listens on its fixed ports (2775, 2776, 9775); so that they cannot collide with anything
on this machine, the test runs in a network namespace of its own (`unshare -rn`, loopback only).
Where namespaces are not available the test exits 77, which CTest reports as skipped.

usage: demo_test.py SOURCE_DIR BUILD_DIR
"""
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77


def loopback_up():
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0))
        flags = struct.unpack("16sH22x", ifr)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def inner(src, build):
    loopback_up()
    failures = []

    def check(ok, what):
        print(("ok:   " if ok else "FAIL: ") + what, flush=True)
        if not ok:
            failures.append(what)

    log = tempfile.NamedTemporaryFile(prefix="demo-", suffix=".log", delete=False)
    env = dict(os.environ, BUILD_DIR=build)
    script = subprocess.Popen(["bash", os.path.join(src, "deploy/demo.sh"), "--no-build"],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env, start_new_session=True)
    started = []  # the script's children (simulator and gateway), killed by pid on failure

    def output():
        with open(log.name, errors="replace") as f:
            return f.read()

    try:
        deadline = time.monotonic() + 30
        while "Press Ctrl-C to stop." not in output():
            if script.poll() is not None or time.monotonic() > deadline:
                print(output())
                check(False, "the demo started (exit %s)" % script.poll())
                return 1
            time.sleep(0.05)
        started = children(script.pid)
        check(len(started) == 2, "the demo runs the simulator and the gateway: %s" % started)

        bench = subprocess.run(
            [os.path.join(build, "tools/bench/smpp-bench"), "--connect", "127.0.0.1:2775",
             "--system-id", "demo", "--password", "demopass", "--count", "100", "--receipts",
             "--quiet"], capture_output=True, text=True, timeout=60)
        check(bench.returncode == 0, "100 messages and their receipts through the demo: "
              + bench.stdout[-300:] + bench.stderr[-300:])

        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        try:
            rc = script.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        out = output()
        print(out)
        check(rc == 0, "the demo exits 0 after Ctrl-C (got %s)" % rc)
        check(out.count("graceful shutdown") == 1, "the gateway got one signal: graceful shutdown")
        check("immediate exit" not in out, "no second signal: no immediate exit")
        check("shutdown_complete" in out, "the gateway drained: shutdown_complete")
        check("smppgw exited with status 0" in out, "the script reports the gateway's status 0")
        for pid in started:
            check(not os.path.exists("/proc/%d" % pid) or
                  open("/proc/%d/stat" % pid).read().split()[2] == "Z",
                  "process %d (simulator or gateway) has exited" % pid)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
        for pid in started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.unlink(log.name)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "--in-namespace":
        return inner(src, build)
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("SKIP: no network namespace here (unshare -rn: %s)" % probe.stderr.strip())
        return SKIP
    return subprocess.run(["unshare", "-rn", sys.executable, os.path.abspath(__file__), src, build,
                           "--in-namespace"]).returncode


if __name__ == "__main__":
    sys.exit(main())
