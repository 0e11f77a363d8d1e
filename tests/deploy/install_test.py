#!/usr/bin/env python3
"""The install tree the container image is built from.

Runs the Dockerfile's own build and install commands (read from deploy/Dockerfile, so the test and
the image cannot drift) on this build tree, into a staging directory instead of /staging, and
checks that what is installed is exactly what the Dockerfile builds; that the installed gateway
refuses to start without a configuration, saying where to put one (the image has none); that the
`bench` component adds the benchmark tools; and that the Kubernetes example's simulator sidecar
runs an installed binary with the carrier settings of the ConfigMap.

usage: install_test.py SOURCE_DIR BUILD_DIR CMAKE_COMMAND
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

failures = []


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def dockerfile_commands(text):
    """The build stage's `cmake --build` targets and its `cmake --install` command."""
    joined = re.sub(r"\\\n", " ", text)  # continuation lines
    build = re.search(r"cmake --build build --target ((?:[\w.-]+ )+)", joined)
    install = re.search(r"((?:DESTDIR=\S+ )?cmake --install build[^&\n]*)", joined)
    if not build or not install:
        sys.exit("FAIL: deploy/Dockerfile has no `cmake --build build --target ...` or "
                 "`cmake --install build ...` step")
    return build.group(1).split(), install.group(1).strip()


def main():
    src, build, cmake = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    with open(os.path.join(src, "deploy/Dockerfile")) as f:
        docker = f.read()
    targets, install_cmd = dockerfile_commands(docker)
    print("Dockerfile builds:", " ".join(targets))
    print("Dockerfile installs with:", install_cmd)

    # The runtime stage copies only the installed binaries and the package list: no configuration.
    copies = re.findall(r"^COPY --from=build (\S+)", docker, re.M)
    check(sorted(copies) == ["/staging/runtime-packages", "/staging/usr/local/bin/"],
          "the runtime stage copies only the installed binaries (and the package list): %s" % copies)

    # The same build command (up to date here: nothing to do but check the targets exist).
    r = subprocess.run([cmake, "--build", build, "--target"] + targets,
                       capture_output=True, text=True)
    check(r.returncode == 0, "cmake --build --target %s: %s" % (" ".join(targets), r.stdout[-500:]
                                                                + r.stderr[-500:]))

    with tempfile.TemporaryDirectory() as tmp:
        staging = os.path.join(tmp, "staging")
        words = shlex.split(install_cmd)
        env = dict(os.environ)
        argv = []
        for w in words:
            if w.startswith("DESTDIR="):
                env["DESTDIR"] = staging  # the Dockerfile's /staging
            elif w == "cmake":
                argv.append(cmake)
            elif w == "build":
                argv.append(build)
            else:
                argv.append(w)
        r = subprocess.run(argv, env=env, capture_output=True, text=True)
        check(r.returncode == 0, "the Dockerfile's install command succeeds: " + r.stderr[-800:])
        prefix = [argv[i + 1] for i, w in enumerate(argv) if w == "--prefix"]
        root = staging + (prefix[0] if prefix else "/usr/local")
        installed = []
        for d, _, files in os.walk(staging):
            installed += [os.path.relpath(os.path.join(d, f), root) for f in files]
        check(sorted(installed) == sorted("bin/" + t for t in targets),
              "installed %s == built %s" % (sorted(installed), sorted(targets)))
        for t in targets:
            path = os.path.join(root, "bin", t)
            check(os.access(path, os.X_OK), "bin/%s is executable" % t)

        gw = os.path.join(root, "bin/smppgw")
        if os.access(gw, os.X_OK):
            r = subprocess.run([gw, "version"], capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and r.stdout.startswith("smppgw "),
                  "installed smppgw runs: " + r.stdout.strip())
            # The image's entrypoint with nothing mounted at /etc/smppgw/smppgw.json.
            missing = os.path.join(tmp, "etc/smppgw/smppgw.json")
            r = subprocess.run([gw, "run", "-c", missing], capture_output=True, text=True,
                               timeout=30)
            print(r.stderr.strip())
            check(r.returncode == 1, "without a configuration: exit 1 (got %d)" % r.returncode)
            check("no configuration file at " + missing in r.stderr and "mount" in r.stderr,
                  "without a configuration: a message saying where to put one")

        # The benchmark tools are a component of their own, installed on request.
        bench = os.path.join(tmp, "bench")
        r = subprocess.run([cmake, "--install", build, "--prefix", bench, "--component", "bench"],
                           capture_output=True, text=True)
        check(r.returncode == 0, "cmake --install --component bench: " + r.stderr[-800:])
        got = sorted(os.listdir(os.path.join(bench, "bin"))) if r.returncode == 0 else []
        check(got == ["smpp-benchrun", "smpp-relay"], "component bench installs %s" % got)

        # The Kubernetes example: the simulator sidecar is an installed binary of the image, and
        # it listens where the ConfigMap's carrier is, with its credentials.
        with open(os.path.join(src, "deploy/kubernetes/deployment.yaml")) as f:
            deployment = f.read()
        m = re.search(r"command: (\[[^\]]*\])", deployment)
        check(m is not None, "deployment.yaml has the simulator sidecar's command")
        if m:
            cmd = json.loads(m.group(1).replace("\n", " "))
            check(cmd[0] in targets, "the sidecar runs %s, which the image installs" % cmd[0])
            opts = dict(zip(cmd[1::2], cmd[2::2]))
            with open(os.path.join(src, "deploy/kubernetes/configmap.yaml")) as f:
                cm = f.read()
            cfg = json.loads(cm[cm.index("{"):])
            carriers = [u for u in cfg["upstreams"]]
            check(len(carriers) == 1, "the ConfigMap has one carrier")
            up = carriers[0]
            check(opts.get("--listen") == "%s:%d" % (up["host"], up["port"]),
                  "the sidecar listens at the ConfigMap's carrier %s:%d (%s)"
                  % (up["host"], up["port"], opts.get("--listen")))
            check(opts.get("--system-id") == up["system_id"]
                  and opts.get("--password") == up["password"],
                  "the sidecar accepts the ConfigMap's carrier credentials")

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
