"""Image side of the benchmark: unpack a multi-layer image and start the
first container from it, zone against podman (vfs storage, so that neither
side is helped by an overlay already mounted).

The image is built locally, once, with umoci from the busybox rootfs plus
two generated layers (deterministic content: many small files and a few
larger ones), and cached in build/bench/image-cache. Each iteration uses a
fresh, empty store for both tools, so every iteration unpacks every layer.

Measured per tool: `pull oci:DIR:TAG` (copy + unpack of all layers), then
`run` of /bin/true from the image (the first container; zone runs it by
the name the pull stored, localhost/<layout dir>:TAG). zone's side needs
`zone pull` and `zone run IMAGE`; when either is missing or fails on a
probe, the section is skipped with the reason."""
import os
import random
import shutil
import subprocess

from bench import BUILD, BenchError, log, summarize_ms

TAG = "bench"
SMALL_FILES = 2000
LARGE_FILES = 4
LARGE_SIZE = 4 << 20


def generate_layer_content(root, seed):
    """Fills root with SMALL_FILES small files and LARGE_FILES larger ones."""
    rng = random.Random(seed)
    for k in range(SMALL_FILES):
        d = os.path.join(root, "data", f"d{k % 50:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{k:05d}.txt"), "wb") as f:
            f.write(rng.randbytes(rng.randint(100, 8000)))
    for k in range(LARGE_FILES):
        with open(os.path.join(root, "data", f"large{seed}-{k}.bin"), "wb") as f:
            f.write(rng.randbytes(LARGE_SIZE))


def build_image(busybox_rootfs, cache):
    """An OCI layout at cache/layout with 3 layers; built once."""
    layout = os.path.join(cache, "layout")
    if os.path.exists(os.path.join(cache, "done")):
        return layout
    if shutil.which("umoci") is None:
        raise BenchError("umoci is needed to build the benchmark image (make deps)")
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    unpacked = os.path.join(cache, "unpacked")

    def umoci(*args):
        subprocess.run(["umoci", *args], check=True, stdout=subprocess.DEVNULL)

    log("image: building a 3-layer OCI image with umoci (once, cached)")
    umoci("init", "--layout", layout)
    umoci("new", "--image", f"{layout}:{TAG}")
    umoci("unpack", "--image", f"{layout}:{TAG}", unpacked)
    rootfs = os.path.join(unpacked, "rootfs")
    subprocess.run(["cp", "-a", busybox_rootfs + "/.", rootfs], check=True)
    umoci("repack", "--image", f"{layout}:{TAG}", unpacked)
    for seed in (1, 2):
        generate_layer_content(os.path.join(rootfs, f"layer{seed}"), seed)
        umoci("repack", "--image", f"{layout}:{TAG}", unpacked)
    umoci("config", "--image", f"{layout}:{TAG}", "--config.cmd", "/bin/true")
    umoci("gc", "--layout", layout)
    shutil.rmtree(unpacked)
    open(os.path.join(cache, "done"), "w").close()
    return layout


def config_digest(layout):
    """The image's config digest (podman's image ID), read from the layout."""
    import json  # pylint: disable=import-outside-toplevel
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    manifest = next(m for m in index["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == TAG)
    algo, hexd = manifest["digest"].split(":", 1)
    with open(os.path.join(layout, "blobs", algo, hexd)) as f:
        return json.load(f)["config"]["digest"].split(":", 1)[1]


def podman_parent_cgroups():
    """The libpod_parent cgroup dirs podman makes (cgroupfs manager)."""
    out = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "2", "-type", "d",
                          "-name", "libpod_parent"], capture_output=True, text=True).stdout
    return set(out.split())


def remove_podman_leftovers(had_parent):
    for d in podman_parent_cgroups() - had_parent:
        subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"],
                       stderr=subprocess.DEVNULL)


def zone_image_name(layout):
    """What `zone pull oci:DIR:TAG` stores the image as: `zone run` takes a
    store name, not a transport, and an OCI layout is named
    localhost/<directory name>:TAG."""
    return f"localhost/{os.path.basename(layout.rstrip('/')).lower()}:{TAG}"


def zone_run_argv(base, layout):
    # --network none as for podman: no pasta process in the figure
    return base + ["run", "--rm", "--network", "none", zone_image_name(layout), "/bin/true"]


def probe_zone(bench, zone, layout):
    """None when `zone pull` and `zone run IMAGE` work, else the reason."""
    store = os.path.join(bench.work, "zone-image-probe")
    base = [zone.path, "--root", zone.root, "--storage", store]
    try:
        p = subprocess.run(base + ["pull", "-q", f"oci:{layout}:{TAG}"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            return f"`zone pull oci:DIR` failed: {p.stderr.strip()[:200]}"
        p = subprocess.run(zone_run_argv(base, layout),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            return f"`zone run IMAGE` does not work yet: {p.stderr.strip()[:200]}"
        return None
    except subprocess.TimeoutExpired as e:
        return f"zone image probe timed out: {e.cmd[-3:]}"
    finally:
        subprocess.run(["rm", "-rf", store])


def image_section(bench):
    zone = next((r for r in bench.runtimes if r.name == "zone"), None)
    if zone is None:
        return {"skipped": "zone is not among BENCH_RUNTIMES"}
    layout = build_image(bench.rootfs, os.path.join(BUILD, "bench", "image-cache"))
    n = 1 if bench.smoke else max(2, min(bench.iterations, 5))
    res = {"image": {"layers": 3, "small_files": 2 * SMALL_FILES,
                     "large_files": 2 * LARGE_FILES, "large_size": LARGE_SIZE},
           "latency": {"pull": {}, "first_run": {}, "pull_and_first_run": {}}}

    stores = os.path.join(bench.work, "image-stores")
    os.makedirs(stores, exist_ok=True)
    podman = shutil.which("podman")
    if podman is None:
        res["podman"] = "skipped: podman not installed"
    else:
        log(f"image: podman pull oci:DIR + first run x{n} (vfs, fresh store each time)")
        # podman refuses a --runroot longer than 50 characters
        # and names an oci: pull after its path, which must be lower case
        short = f"/tmp/zbp{os.getpid()}"
        shutil.rmtree(short, ignore_errors=True)
        os.makedirs(short)
        had_parent = podman_parent_cgroups()
        os.symlink(layout, os.path.join(short, "img"))
        pbase = [podman, "--root", os.path.join(short, "{i}", "root"),
                 "--runroot", os.path.join(short, "{i}", "run"),
                 "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                 "--tmpdir", os.path.join(short, "{i}", "tmp"),
                 "--events-backend", "file"]
        try:
            steps = bench.timer([
                pbase + ["pull", "-q", f"oci:{os.path.join(short, 'img')}:{TAG}"],
                # by image ID, as the name is the path's
                pbase + ["run", "--rm", "--pull", "never", "--network", "none",
                         # root here may lack CAP_SYS_RESOURCE: limits
                         # below the current ones, as tests/integration do
                         "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=8192:8192",
                         config_digest(layout), "/bin/true"],
                pbase + ["system", "reset", "--force"],
            ], n)
        finally:
            subprocess.run(["rm", "-rf", short])
            remove_podman_leftovers(had_parent)
        record(res, "podman", steps)

    reason = probe_zone(bench, zone, layout)
    if reason:
        res["zone"] = f"skipped: {reason}"
        log(f"image: zone skipped: {reason}")
        return res
    log(f"image: zone pull oci:DIR + first run x{n} (fresh store each time)")
    zbase = [zone.path, "--root", zone.root, "--storage", os.path.join(stores, "zone-{i}")]
    steps = bench.timer([
        zbase + ["pull", "-q", f"oci:{layout}:{TAG}"],
        zone_run_argv(zbase, layout),
        ["rm", "-rf", os.path.join(stores, "zone-{i}")],
    ], n)
    record(res, "zone", steps)
    return res


def record(res, tool, steps):
    """pull and first run apart, and their sum per iteration: the tools split
    the work differently (zone's pull stores the compressed layers and the
    first run unpacks them; podman's pull unpacks), so only the sum compares
    like with like."""
    lat = res["latency"]
    lat["pull"][tool] = summarize_ms(steps[0]["wall_ns"])
    lat["first_run"][tool] = summarize_ms(steps[1]["wall_ns"])
    lat["pull_and_first_run"][tool] = summarize_ms(
        [a + b for a, b in zip(steps[0]["wall_ns"], steps[1]["wall_ns"])])
