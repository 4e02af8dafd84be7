#!/usr/bin/env python3
"""zone's benchmark: zone against crun, runc and two floor programs, in one run.

The floor (bench/floor.c) does only what any container costs (clone with the
namespaces, pivot_root, /proc, exec); the spec floor (bench/floor_spec.c)
does what the default spec asks (cgroups, every mount, masked and read-only
paths, capabilities, a state file) in the fewest plain syscalls.

Run it through bench/run.sh (which builds the tools and enters the private
mount namespace every runtime shares); see docs/performance.md.

Every timed command is spawned by bench/timer (C, clock_gettime around
posix_spawn + wait4), never by this script, so Python's own speed does not
enter the numbers. This script only decides what to run, checks that every
command succeeded, and turns the samples into medians, min-max noise and
ratios, printed as a table and written as JSON.

Environment (all optional):
  BENCH_ITER        measured iterations per latency figure (default 30; smoke 5)
  BENCH_WARMUP      warm-up iterations, not kept (default 3; smoke 1)
  BENCH_PAUSE_MS    quiet time before each latency command (default 100;
                    smoke 20), so that none rides on the kernel state the
                    previous one left warm (see docs/performance.md)
  BENCH_SCALE_N     container counts for the scale test (default "100 500 1000";
                    smoke "10")
  BENCH_MAX_N       cap on every scale count (e.g. 50 on a small machine)
  BENCH_RUNTIMES    runtimes to compare (default "zone crun runc")
  BENCH_WORK        work directory (default build/bench/work); wiped first
  BENCH_OUT         JSON output file (default bench/results/<date>.json)
  BENCH_SKIP        space-separated sections to skip: latency rss scale image
  BENCH_STATE_FS    "tmpfs" (default): every runtime's --root on one tmpfs, as
                    /run (their default root) is on a normal host; "disk":
                    under BENCH_WORK as it is (ext4 with discard here, where
                    each freed block of a state file costs a synchronous
                    discard; see docs/performance.md)
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.path.abspath(os.environ.get("BUILD", os.path.join(TOP, "build")))
TIMER = os.path.join(BUILD, "bench", "timer")
FLOOR = os.path.join(BUILD, "bench", "floor")
SPEC_FLOOR = os.path.join(BUILD, "bench", "floor-spec")
WAIT_STOPPED = os.path.join(HERE, "wait-stopped.sh")

# crun 1.8 (Debian 12) refuses ociVersion 1.2.0, which `zone spec` writes;
# every runtime gets the same config.json with this version instead.
SHARED_OCI_VERSION = "1.1.0"


class BenchError(Exception):
    pass


# What bench/floor_spec.c does, written out by hand: the spec floor is only
# reported while the bundle's config.json still asks for exactly this.
SPEC_FLOOR_CONFIG = {
    "namespaces": ["pid", "network", "ipc", "uts", "mount"],
    "mounts": [("/proc", "proc"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"),
               ("/dev/shm", "tmpfs"), ("/dev/mqueue", "mqueue"), ("/sys", "sysfs"),
               ("/sys/fs/cgroup", "cgroup")],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                      "/proc/sysrq-trigger"],
    "capabilities": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "rlimits": [("RLIMIT_NOFILE", 1024, 1024)],
    "noNewPrivileges": True,
    "readonlyRoot": True,
    "hostname": "zone",
}


def spec_floor_mismatch(cfg):
    """What in cfg differs from what the spec floor does, or None."""
    lx = cfg.get("linux", {})
    proc = cfg.get("process", {})
    caps = proc.get("capabilities", {})
    seen = {
        "namespaces": [n.get("type") for n in lx.get("namespaces", [])],
        "mounts": [(m.get("destination"), m.get("type")) for m in cfg.get("mounts", [])],
        "maskedPaths": lx.get("maskedPaths", []),
        "readonlyPaths": lx.get("readonlyPaths", []),
        "capabilities": sorted(set().union(*[set(caps.get(k, [])) for k in
                                             ("bounding", "effective", "permitted",
                                              "ambient")])) if caps else [],
        "rlimits": [(r.get("type"), r.get("hard"), r.get("soft"))
                    for r in proc.get("rlimits", [])],
        "noNewPrivileges": bool(proc.get("noNewPrivileges")),
        "readonlyRoot": bool(cfg.get("root", {}).get("readonly")),
        "hostname": cfg.get("hostname"),
    }
    for key, want in SPEC_FLOOR_CONFIG.items():
        if seen[key] != want:
            return f"{key}: config.json has {seen[key]!r}, bench/floor_spec.c does {want!r}"
    if lx.get("seccomp") or lx.get("resources", {}).get("devices") != [
            {"allow": False, "access": "rwm"}]:
        return "seccomp or device rules differ from the default spec"
    return None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def summarize_ms(samples_ns):
    ms = [s / 1e6 for s in samples_ns]
    return {
        "median_ms": round(statistics.median(ms), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
        "n": len(ms),
        "samples_ms": [round(x, 3) for x in ms],
    }


def median_int(values):
    values = [v for v in values if v >= 0]
    return int(statistics.median(values)) if values else None


class Runtime:
    def __init__(self, name, path, root):
        self.name = name
        self.path = path
        self.root = root

    def cid(self, name):
        """A container id of this runtime: crun and runc derive cgroup paths
        from the id alone, so two runtimes must never share one."""
        return f"{self.name}-{name}"

    def cmd(self, *args):
        return [self.path, "--root", self.root, *args]

    def version(self):
        try:
            out = subprocess.run([self.path, "--version"], capture_output=True,
                                 text=True, timeout=10).stdout
            return out.splitlines()[0] if out else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"

    def cleanup(self):
        """Deletes (forcibly) every container left in this runtime's root."""
        if not os.path.isdir(self.root):
            return
        out = subprocess.run(self.cmd("list", "-q"), capture_output=True,
                             text=True).stdout
        ids = [line.strip() for line in out.splitlines() if line.strip()]
        for cid in ids:
            subprocess.run(self.cmd("delete", "--force", cid),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ids


class Bench:
    def __init__(self):
        self.smoke = "--smoke" in sys.argv[1:]
        env = os.environ
        self.iterations = int(env.get("BENCH_ITER", "5" if self.smoke else "30"))
        self.warmup = int(env.get("BENCH_WARMUP", "1" if self.smoke else "3"))
        self.rss_iterations = 3 if self.smoke else 10
        self.pause_ms = int(env.get("BENCH_PAUSE_MS", "20" if self.smoke else "100"))
        ns = env.get("BENCH_SCALE_N", "10" if self.smoke else "100 500 1000")
        self.scale_ns = [int(x) for x in ns.split()]
        if env.get("BENCH_MAX_N"):
            cap = int(env["BENCH_MAX_N"])
            self.scale_ns = sorted({min(n, cap) for n in self.scale_ns})
        self.skip = set(env.get("BENCH_SKIP", "").split())
        self.state_fs = env.get("BENCH_STATE_FS", "tmpfs")
        if self.state_fs not in ("tmpfs", "disk"):
            raise BenchError(f"BENCH_STATE_FS={self.state_fs}: tmpfs or disk")
        self.work = os.path.abspath(env.get("BENCH_WORK",
                                            os.path.join(BUILD, "bench", "work")))
        stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
        default_out = os.path.join(HERE, "results",
                                   ("smoke-" if self.smoke else "") + stamp + ".json")
        self.out_path = env.get("BENCH_OUT", default_out)
        self.runtimes = []
        for name in env.get("BENCH_RUNTIMES", "zone crun runc").split():
            path = os.path.join(BUILD, "zone") if name == "zone" else shutil.which(name)
            if not path or not os.access(path, os.X_OK):
                raise BenchError(f"runtime {name} not found (install it: make deps)")
            self.runtimes.append(Runtime(name, path,
                                         os.path.join(self.work, "state", name)))
        self.results = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "smoke": self.smoke,
            "host": host_info(),
            "versions": {r.name: r.version() for r in self.runtimes},
            "config": {"iterations": self.iterations, "warmup": self.warmup,
                       "rss_iterations": self.rss_iterations,
                       "pause_ms": self.pause_ms,
                       "state_fs": self.state_fs,
                       "scale_n": self.scale_ns,
                       "oci_version": SHARED_OCI_VERSION},
        }

    # ------------------------------------------------------------ plumbing

    def timer(self, steps, n, warmup=0, trace=False, quiet=True, pause_ms=0):
        """Runs bench/timer over steps (lists of argv); returns its steps."""
        argv = [TIMER, "-n", str(n), "-w", str(warmup), "-s", str(pause_ms)]
        if trace:
            argv.append("-p")
        if quiet:
            argv.append("-q")
        argv.append("--")
        for k, step in enumerate(steps):
            if k:
                argv.append(":::")
            argv.extend(step)
        proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, cwd=self.work)
        if proc.returncode != 0:
            raise BenchError("a benchmarked command failed (see the timer message above)")
        return json.loads(proc.stdout)["steps"]

    def setup(self):
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)
        if self.state_fs == "tmpfs":
            # bench/run.sh put us in a private mount namespace: the tmpfs
            # goes away with it.
            if os.environ.get("ZONE_BENCH_IN_NS") != "1":
                raise BenchError("BENCH_STATE_FS=tmpfs needs bench/run.sh's private "
                                 "mount namespace")
            state = os.path.join(self.work, "state")
            os.makedirs(state)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0711", "zone-bench-state",
                            state], check=True)
        for r in self.runtimes:
            os.makedirs(r.root)
        rootfs_bundle = os.path.join(self.work, "busybox")
        subprocess.run(["sh", os.path.join(TOP, "scripts", "make-busybox-bundle.sh"),
                        rootfs_bundle], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, RUNTIME=os.path.join(BUILD, "zone")))
        self.rootfs = os.path.join(rootfs_bundle, "rootfs")
        with open(os.path.join(rootfs_bundle, "config.json")) as f:
            base = json.load(f)
        # The default spec, unchanged but for: no terminal (nothing to give
        # it one), the program, an absolute rootfs path shared by both
        # bundles, and a version crun accepts.
        base["ociVersion"] = SHARED_OCI_VERSION
        base["process"]["terminal"] = False
        base["root"]["path"] = self.rootfs
        mismatch = spec_floor_mismatch(base)
        if mismatch:
            log(f"spec floor not reported: {mismatch}")
            self.spec_floor = None
        else:
            spec_state = os.path.join(self.work, "state", "spec-floor")
            os.makedirs(spec_state)
            self.spec_floor = [SPEC_FLOOR, spec_state, self.rootfs, "/bin/true"]
        self.bundle_true = self.make_bundle("bundle-true", base, ["/bin/true"])
        self.bundle_sleep = self.make_bundle("bundle-sleep", base,
                                             ["/bin/sleep", "1000000"])

    def make_bundle(self, name, base, args):
        d = os.path.join(self.work, name)
        os.makedirs(d)
        cfg = json.loads(json.dumps(base))
        cfg["process"]["args"] = args
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return d

    def cleanup(self):
        leftovers = {}
        for r in self.runtimes:
            try:
                ids = r.cleanup()
            except OSError:
                ids = None
            if ids:
                leftovers[r.name] = len(ids)
        return leftovers

    # ------------------------------------------------------------ sections

    # Every latency and RSS figure comes from one timer call whose steps
    # take turns (floor, zone, crun, runc, floor, zone, ...), so that load
    # from the rest of the machine falls on all of them alike.

    def latency(self):
        n, w = self.iterations, self.warmup
        rts = self.runtimes
        res = {"run": {}, "run_batch": {}, "create": {}, "start": {}, "delete": {},
               "exec": {}}
        floors = [("floor", [FLOOR, self.rootfs, "/bin/true"])]
        if self.spec_floor:
            floors.append(("spec-floor", self.spec_floor))
        log(f"latency: run /bin/true x{n}, floors and runtimes in turn")
        steps = self.timer([cmd for _, cmd in floors] +
                           [r.cmd("run", "--bundle", self.bundle_true, r.cid("run{i}")) for r in rts],
                           n, w, pause_ms=self.pause_ms)
        for k, (name, _) in enumerate(floors):
            res["run"][name] = summarize_ms(steps[k]["wall_ns"])
        for k, r in enumerate(rts):
            res["run"][r.name] = summarize_ms(steps[len(floors) + k]["wall_ns"])

        # A batch: each command right after the previous one of its kind,
        # as when an engine starts many containers (hyperfine's way).
        log(f"latency: run /bin/true x{n} back to back, one runtime at a time")
        res["run_batch"] = {}
        for name, cmd in floors:
            steps = self.timer([cmd], n, w)
            res["run_batch"][name] = summarize_ms(steps[0]["wall_ns"])
        for r in rts:
            steps = self.timer([r.cmd("run", "--bundle", self.bundle_true, r.cid("batch{i}"))], n, w)
            res["run_batch"][r.name] = summarize_ms(steps[0]["wall_ns"])

        log(f"latency: create, start, delete x{n}")
        seq = []
        for r in rts:
            seq += [r.cmd("create", "--bundle", self.bundle_true, r.cid("csd{i}")),
                    r.cmd("start", r.cid("csd{i}")),
                    [WAIT_STOPPED, r.path, r.root, r.cid("csd{i}")],  # not reported
                    r.cmd("delete", r.cid("csd{i}"))]
        steps = self.timer(seq, n, w, pause_ms=self.pause_ms)
        for k, r in enumerate(rts):
            res["create"][r.name] = summarize_ms(steps[4 * k]["wall_ns"])
            res["start"][r.name] = summarize_ms(steps[4 * k + 1]["wall_ns"])
            res["delete"][r.name] = summarize_ms(steps[4 * k + 3]["wall_ns"])

        log(f"latency: exec /bin/true into a running container x{n}")
        try:
            for r in rts:
                self.timer([r.cmd("run", "--detach", "--bundle", self.bundle_sleep,
                                  r.cid("execbox"))], 1)
            steps = self.timer([r.cmd("exec", r.cid("execbox"), "/bin/true") for r in rts], n, w,
                               pause_ms=self.pause_ms)
        finally:
            for r in rts:
                subprocess.run(r.cmd("delete", "--force", r.cid("execbox")),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for k, r in enumerate(rts):
            res["exec"][r.name] = summarize_ms(steps[k]["wall_ns"])
        self.results["latency"] = res

    def rss(self):
        n = self.rss_iterations
        rts = self.runtimes
        res = {"create": {}, "run": {}}
        log(f"rss: peak RSS of create and run x{n} (traced, not timed)")
        seq = [[FLOOR, self.rootfs, "/bin/true"]]
        for r in rts:
            seq += [r.cmd("run", "--bundle", self.bundle_true, r.cid("rssrun{i}")),
                    r.cmd("create", "--bundle", self.bundle_true, r.cid("rsscreate{i}")),
                    r.cmd("delete", "--force", r.cid("rsscreate{i}"))]
        steps = self.timer(seq, n, trace=True)
        res["run"]["floor"] = rss_summary(steps[0])
        for k, r in enumerate(rts):
            res["run"][r.name] = rss_summary(steps[1 + 3 * k])
            res["create"][r.name] = rss_summary(steps[2 + 3 * k])
        self.results["rss"] = res

    def scale(self):
        res = {}
        q = max(3, min(self.iterations, 10))
        for n in self.scale_ns:
            res[str(n)] = {}
            for r in self.runtimes:
                log(f"scale: {r.name}: create+start {n} sleeping containers, "
                    f"then list/state/ps x{q}, then delete them")
                try:
                    cs = self.timer([
                        r.cmd("create", "--bundle", self.bundle_sleep, r.cid("s{i}")),
                        r.cmd("start", r.cid("s{i}")),
                    ], n)
                    queries = self.timer([r.cmd("list"), r.cmd("state", r.cid("s0")),
                                          r.cmd("ps", r.cid("s0"))], q)
                    dl = self.timer([r.cmd("delete", "--force", r.cid("s{i}"))], n)
                finally:
                    r.cleanup()
                create = cs[0]["wall_ns"]
                start = cs[1]["wall_ns"]
                both = [a + b for a, b in zip(create, start)]
                tenth = max(1, n // 10)
                res[str(n)][r.name] = {
                    "create_start_per_container_ms": round(sum(both) / n / 1e6, 3),
                    "create_start_first_tenth_ms": round(sum(both[:tenth]) / tenth / 1e6, 3),
                    "create_start_last_tenth_ms": round(sum(both[-tenth:]) / tenth / 1e6, 3),
                    "create_start_total_s": round(sum(both) / 1e9, 3),
                    "list": summarize_ms(queries[0]["wall_ns"]),
                    "state": summarize_ms(queries[1]["wall_ns"]),
                    "ps": summarize_ms(queries[2]["wall_ns"]),
                    "delete_per_container_ms": round(sum(dl[0]["wall_ns"]) / n / 1e6, 3),
                }
        self.results["scale"] = res

    def image(self):
        from image_bench import image_section  # pylint: disable=import-outside-toplevel
        self.results["image"] = image_section(self)

    # ------------------------------------------------------------ report

    def ratios_and_acceptance(self):
        lat = self.results.get("latency", {})
        ratios = {}
        for metric, per in lat.items():
            zone = per.get("zone")
            if not zone:
                continue
            for other in ("crun", "runc", "floor", "spec-floor"):
                if other in per and per[other]["median_ms"] > 0:
                    ratios[f"{metric}/zone_vs_{other}"] = round(
                        zone["median_ms"] / per[other]["median_ms"], 3)
        self.results["ratios"] = ratios

        acc = []
        run = lat.get("run", {})
        if "zone" in run and "crun" in run:
            v = ratios["run/zone_vs_crun"]
            acc.append(("run /bin/true median <= 0.4x crun", f"{v}x", v <= 0.4))
        if "zone" in run and "floor" in run:
            v = ratios["run/zone_vs_floor"]
            acc.append(("run /bin/true median <= 1.5x floor", f"{v}x", v <= 1.5))
        batch = lat.get("run_batch", {})
        if "zone" in batch and "crun" in batch:
            v = ratios["run_batch/zone_vs_crun"]
            acc.append(("run /bin/true back to back: median <= 0.4x crun", f"{v}x", v <= 0.4))
        if "zone" in batch and "floor" in batch:
            v = ratios["run_batch/zone_vs_floor"]
            acc.append(("run /bin/true back to back: median <= 1.5x floor", f"{v}x", v <= 1.5))
        rss = self.results.get("rss", {}).get("run", {})
        if "zone" in rss and "crun" in rss:
            z, c = rss["zone"]["self_kb"], rss["crun"]["self_kb"]
            if z is not None and c is not None:
                acc.append(("peak RSS of run below crun's", f"{z} kB vs {c} kB", z < c))
        scale = self.results.get("scale", {})
        big = str(max(self.scale_ns)) if self.scale_ns else None
        small = str(min(self.scale_ns)) if self.scale_ns else None
        if big and "zone" in scale.get(big, {}):
            lm = scale[big]["zone"]["list"]["median_ms"]
            acc.append((f"zone list with {big} running < 50 ms", f"{lm} ms", lm < 50))
            if small != big:
                a = scale[small]["zone"]["create_start_per_container_ms"]
                b = scale[big]["zone"]["create_start_per_container_ms"]
                g = round(b / a, 3)
                acc.append((f"create+start per container at N={big} <= 1.5x N={small}",
                            f"{g}x ({b} vs {a} ms)", g <= 1.5))
        self.results["acceptance"] = [
            {"target": t, "measured": m, "met": ok} for t, m, ok in acc]

    def print_table(self):
        names = [r.name for r in self.runtimes]
        lat = self.results.get("latency")
        out = []
        if lat:
            out.append("Latency, ms: median (min-max)")
            floors = ["floor", "spec-floor"]
            head = f"{'':10}" + "".join(f"{n:>24}" for n in names + floors)
            out.append(head + f"{'zone/crun':>11}{'zone/floor':>11}{'zone/spec':>11}")
            for metric, per in lat.items():
                row = f"{metric:10}"
                for n in names + floors:
                    s = per.get(n)
                    cell = (f"{s['median_ms']:.2f} ({s['min_ms']:.2f}-{s['max_ms']:.2f})"
                            if s else "-")
                    row += f"{cell:>24}"
                for other in ("crun", "floor", "spec-floor"):
                    v = self.results["ratios"].get(f"{metric}/zone_vs_{other}")
                    row += f"{(f'{v:.2f}x' if v is not None else '-'):>11}"
                out.append(row)
        rss = self.results.get("rss")
        if rss:
            out.append("")
            out.append("Peak RSS, kB: runtime process alone (with the children it reaped)")
            out.append(f"{'':10}" + "".join(f"{n:>24}" for n in names + ["floor"]))
            for metric, per in rss.items():
                row = f"{metric:10}"
                for n in names + ["floor"]:
                    s = per.get(n)
                    cell = f"{s['self_kb']} ({s['tree_kb']})" if s else "-"
                    row += f"{cell:>24}"
                out.append(row)
        scale = self.results.get("scale")
        if scale:
            out.append("")
            out.append("Scale: create+start per container ms (first tenth / last tenth), "
                       "list / state / ps median ms with N running, delete per container ms")
            for n, per in scale.items():
                for name in names:
                    s = per.get(name)
                    if not s:
                        continue
                    out.append(
                        f"N={n:>5} {name:6} create+start {s['create_start_per_container_ms']:7.2f}"
                        f" ({s['create_start_first_tenth_ms']:.2f}/{s['create_start_last_tenth_ms']:.2f})"
                        f"  list {s['list']['median_ms']:7.2f}  state {s['state']['median_ms']:6.2f}"
                        f"  ps {s['ps']['median_ms']:6.2f}  delete {s['delete_per_container_ms']:6.2f}")
        img = self.results.get("image")
        if img:
            out.append("")
            if "skipped" in img:
                out.append(f"Image: skipped: {img['skipped']}")
            else:
                out.append("Image: ms, median (min-max), fresh store each time")
                for tool in ("zone", "podman"):
                    if isinstance(img.get(tool), str):
                        out.append(f"  {tool}: {img[tool]}")
                for metric, per in img.get("latency", {}).items():
                    cells = "  ".join(
                        f"{k} {v['median_ms']:.1f} ({v['min_ms']:.1f}-{v['max_ms']:.1f})"
                        for k, v in per.items())
                    out.append(f"  {metric:28} {cells}")
        run = (lat or {}).get("run", {})
        if "spec-floor" in run and "floor" in run:
            sf = run["spec-floor"]["median_ms"] / run["floor"]["median_ms"]
            out.append("")
            out.append(f"The spec floor (the default spec's kernel work, no runtime) is "
                       f"{sf:.2f}x the floor here: what the spec asks costs that much "
                       f"before any runtime code runs.")
        acc = self.results.get("acceptance")
        if acc:
            out.append("")
            out.append("Targets (docs/performance.md):")
            for a in acc:
                out.append(f"  [{'met' if a['met'] else 'NOT met'}] {a['target']}: {a['measured']}")
        print("\n".join(out), flush=True)

    def write_json(self):
        os.makedirs(os.path.dirname(self.out_path), exist_ok=True)
        with open(self.out_path, "w") as f:
            json.dump(self.results, f, indent=1)
            f.write("\n")
        log(f"results written to {self.out_path}")

    def main(self):
        self.setup()
        failed = None
        try:
            for name, fn in (("latency", self.latency), ("rss", self.rss),
                             ("scale", self.scale), ("image", self.image)):
                if name not in self.skip:
                    fn()
        except BenchError as e:
            failed = str(e)
        finally:
            leftovers = self.cleanup()
        if leftovers and not failed:
            failed = f"containers were left behind: {leftovers}"
        self.ratios_and_acceptance()
        if failed:
            self.results["failed"] = failed
        self.print_table()
        self.write_json()
        if failed:
            log(f"bench: FAILED: {failed}")
            return 1
        return 0


def rss_summary(step):
    return {"self_kb": median_int(step["self_kb"]),
            "tree_kb": median_int(step["maxrss_kb"])}


def host_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "machine": platform.machine()}


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.modules["bench"] = sys.modules["__main__"]  # one BenchError for image_bench
    try:
        sys.exit(Bench().main())
    except BenchError as e:
        log(f"bench: {e}")
        sys.exit(1)
