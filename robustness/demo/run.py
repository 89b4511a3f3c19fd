"""``robustness demo``: the harness's whole job on a simulated benchmark world.

Stages (each timed; every long step shows a progress bar):

1. **world**   render the train split, the original test set (pool A), the
   candidate pool B and large fresh "truth" samples; write them in the real
   sets' folder layouts and pool files (:mod:`robustness.demo.collect`).
   The world also holds ``novel-shapes`` (shapes of classes no model is trained on:
   the out-of-distribution set, :mod:`robustness.demo.ood`) and ``p-source`` (the
   original images made into ImageNet-P perturbation sequences at evaluation).
2. **recollect** build ImageNetV2-style sets from pool B with the project's
   MatchedFrequency, Threshold0.7 and TopImages samplers.
3. **corrupt** write the 15 ImageNet-C corruptions x 5 severities of the
   original set with the on-disk builder (``tiny-imagenet`` preset, PNG).
4. **zoo+clip** train the tiny models (or reuse them) and save them as timm
   export folders; one family is tuned on the original test set. Beside them,
   a tiny CLIP trained contrastively on the train images and captions naming
   their class (:mod:`robustness.demo.clip`), saved in open_clip's folder
   layout: a zero-shot model, placed against the line. Every model trains on
   one thread, ``workers`` of them at a time in separate processes.
5. **eval**    evaluate every model on every set through the engine, loading
   models with ``local-dir:`` (``openclip-local:`` for the CLIP) exactly as a
   user's downloaded weights; the ImageNet-P sequences are rendered in memory
   (``imagenet-p-inmemory``), once for all models.
6. **report**  tables, gaps, fits, corruption metrics, calibration, OOD
   detection, ImageNet-P stability, plots, the selection-bias analysis and
   ``truth.csv``.

The world, the zoo and the CLIP are cached under ``cache``, each keyed by its own settings;
evaluation resumes from the store. The same seed gives the same CSVs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from corruptions.params.imagenet_p import PERTURBATIONS as P_PERTURBATIONS  # the 10 test ones

from .clip import TinyClipSpec, is_clip_folder, model_reference
from .collect import CLASS_INDICES, Images, candidates, class_wnids, original_set, pool_table
from .models import SPECS, TinyModelSpec
from .world import SHAPES, Nuisances, render

RECOLLECTED = ("matched-frequency", "threshold0.7", "top-images")
COMMON_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
P_GROUP = "imagenet-p-inmemory"  # ImageNet-P frames rendered in memory from p-source/


@dataclass(frozen=True)
class DemoConfig:
    """Sizes are images per class unless said otherwise."""

    seed: int = 0
    n_classes: int = 10
    train_per_class: int = 250
    original_per_class: int = 100
    pool_b_per_class: int = 250
    k_new: int = 50  # images per class in each re-collected set
    shift: float = 0.8  # nuisance shift of pool B (0 = the original distribution)
    annotators: int = 10
    corrupted_per_class: int = 10  # original-set images per class that are corrupted
    truth_per_class: int = 200  # fresh original-distribution sample
    truth_pool_factor: int = 2  # fresh pool B' = this many pools B
    corruptions: tuple[str, ...] = COMMON_CORRUPTIONS
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    models: tuple[str, ...] = tuple(s.name for s in SPECS)
    tuned_family: str = "convnext"
    tune_epochs: int = 6
    tune_repeats: int = 5  # how many times the original test images enter the tuned family's data
    epochs_scale: float = 1.0  # multiplies every model's epochs (reduced worlds train less)
    batch_size: int = 250
    workers: int = 2  # processes rendering the world, corrupting, training and evaluating
    zero_shot: bool = True  # also train the tiny CLIP (robustness.demo.clip); needs open_clip
    clip_epochs: int = 8  # the CLIP's passes over the train split (TinyClipSpec.epochs: 12)
    ood_per_class: int = 40  # novel-shapes images per novel shape (5 shapes; 200 vs 1,000 val)
    p_per_class: int = 2  # original images per class made into ImageNet-P sequences
    p_perturbations: tuple[str, ...] = P_PERTURBATIONS  # at difficulty 1
    p_resize: int = 73  # ImageNet-P's geometry (resize 256, crop 224) scaled to 64 px: 256 * 64 / 224
    p_crop: int = 64
    # ImageNet-P's mFR/mT5D divide by AlexNet's flip rates; the demo divides by its oldest
    # architecture's, evaluated on the same sequences (report --stability-baseline-model)
    stability_baseline: str = "demo-resnet"

    def world_key(self) -> str:
        keys = ("seed", "n_classes", "train_per_class", "original_per_class", "pool_b_per_class",
                "k_new", "shift", "annotators", "corrupted_per_class", "truth_per_class",
                "truth_pool_factor", "corruptions", "severities", "ood_per_class",
                "p_per_class")  # fmt: skip
        return _digest({k: getattr(self, k) for k in keys})

    def zoo_key(self) -> str:
        keys = ("models", "tuned_family", "tune_epochs", "tune_repeats", "epochs_scale")
        return _digest({"world": self.world_key(), **{k: getattr(self, k) for k in keys}})

    def clip_key(self) -> str:
        """The CLIP's own cache key (the world and its spec): the zoo's key does not change."""
        return _digest({"world": self.world_key(), "clip": asdict(clip_spec(self))})


def clip_spec(cfg: DemoConfig) -> TinyClipSpec:
    """The demo's CLIP: ``cfg.clip_epochs`` epochs, its seed offset by the demo's."""
    base = TinyClipSpec()
    return replace(base, seed=base.seed + cfg.seed, epochs=cfg.clip_epochs)


def reduced_config(seed: int = 0) -> DemoConfig:
    """A small world for tests: same code path, fewer images, corruptions and models."""
    return DemoConfig(
        seed=seed, train_per_class=150, original_per_class=40, pool_b_per_class=120, k_new=20,
        corrupted_per_class=4, truth_per_class=100, truth_pool_factor=2,
        corruptions=("gaussian_noise", "defocus_blur", "fog", "contrast"), severities=(1, 3, 5),
        models=("demo-resnet", "demo-convnext-xs", "demo-convnext-s", "demo-vit", "demo-deit"),
        epochs_scale=0.8, batch_size=200, workers=2, clip_epochs=6, ood_per_class=16,
        p_per_class=1, p_perturbations=("gaussian_noise", "brightness", "translate", "rotate"),
    )  # fmt: skip


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=list).encode()).hexdigest()[:12]


def _cpu_seconds() -> float:
    """CPU time of this process and its finished child processes (user + system)."""
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class StageTimer:
    """Runs stages, printing each one's wall time and the CPU time it used (its worker
    processes' included): on a busy machine the wall time grows, the CPU time hardly."""

    times: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    echo: Callable[[str], None] = print

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        out = fn()
        self.times[name] = time.perf_counter() - t0
        self.cpu[name] = _cpu_seconds() - c0
        self.echo(f"[demo] {name:10s} {self.times[name]:7.1f} s  (cpu {self.cpu[name]:6.1f} s)")
        return out


# --------------------------------------------------------------------------- world


def _save_pngs(images: Images, folder: Path, wnids: list[str]) -> None:
    from PIL import Image

    for px, lab, stem in zip(images.pixels, images.nuisances.label, images.ids):
        d = folder / wnids[int(lab)]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(px).save(d / f"{stem}.png", optimize=False, compress_level=1)


def _save_images_npz(path: Path, images: Images) -> None:
    nz = {f"nz_{k}": v for k, v in asdict(images.nuisances).items()}
    np.savez_compressed(path, pixels=images.pixels, votes=images.votes, ids=np.array(images.ids), **nz)


def load_images(path: Path) -> Images:
    from .world import Nuisances

    with np.load(path) as z:
        nz = Nuisances(**{k[3:]: z[k] for k in z.files if k.startswith("nz_")})
        return Images(nz, z["pixels"], z["votes"], [str(s) for s in z["ids"]])


def _die_with_parent() -> None:
    """Worker initializer: on Linux the worker is killed with the demo process, so a killed
    demo leaves no worker training, or evaluating and holding a unit's lock."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def process_pool(workers: int):
    """``workers`` spawned processes (not forked: forking a process that already runs
    OpenMP/torch threads can deadlock, as the corruption builder notes)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent)


class ParallelRenderer:
    """:func:`robustness.demo.world.render` with the images split into chunks rendered by
    ``workers`` processes (spawned, as the corruption builder's): the same pixels, since
    every image is drawn from its own nuisances and seed. One process: plain ``render``."""

    CHUNK = 250  # images per task: small enough to stay in cache, large enough to vectorise

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self.pool = None

    def __enter__(self) -> ParallelRenderer:
        if self.workers > 1:
            self.pool = process_pool(self.workers)
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def __call__(self, nz: Nuisances, shapes: tuple[str, ...] = SHAPES) -> np.ndarray:
        if self.pool is None or len(nz) <= self.CHUNK:
            return render(nz, shapes)
        bounds = range(0, len(nz), self.CHUNK)
        parts = [self.pool.submit(render, nz.take(np.arange(i, min(i + self.CHUNK, len(nz)))), shapes)
                 for i in bounds]
        return np.concatenate([f.result() for f in parts])


def first_per_class(images: Images, n: int, n_classes: int) -> Images:
    """The first ``n`` images of every class, in their order."""
    first = np.concatenate([np.flatnonzero(images.nuisances.label == k)[:n] for k in range(n_classes)])
    return images.take(np.sort(first))


def build_world(cfg: DemoConfig, folder: Path, progress: bool = True) -> Path:
    """Render and write the world into ``folder`` (atomic: built aside, then renamed)."""
    from tqdm.auto import tqdm

    from .ood import novel_images, write_novel_shapes

    if (folder / "world.json").is_file():
        return folder
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    seeds = np.random.SeedSequence(cfg.seed).spawn(6)  # the first five as before the OOD set
    rng = [np.random.default_rng(s) for s in seeds]
    wnids = class_wnids(cfg.n_classes)
    c = cfg.n_classes
    steps = tqdm(total=6, desc="world", disable=not progress, leave=False)
    with ParallelRenderer(cfg.workers) as draw:
        train = candidates(rng[0], cfg.train_per_class * c, 0.0, "train_", cfg.annotators, c, draw)
        _save_images_npz(tmp / "train.npz", train)
        steps.update(1)
        orig = original_set(rng[1], cfg.original_per_class, cfg.annotators, c, render_fn=draw)
        _save_pngs(orig, tmp / "data" / "imagenet" / "val", wnids)
        _save_pngs(first_per_class(orig, cfg.corrupted_per_class, c), tmp / "corruption-source", wnids)
        _save_pngs(first_per_class(orig, cfg.p_per_class, c), tmp / "p-source", wnids)
        _save_images_npz(tmp / "original.npz", orig)
        steps.update(1)
        pool_b = candidates(rng[2], cfg.pool_b_per_class * c, cfg.shift, "cand_", cfg.annotators, c, draw)
        _save_pngs(pool_b, tmp / "pools" / "candidates", wnids)
        _save_images_npz(tmp / "pool_b.npz", pool_b)
        steps.update(1)
        pool_table(orig, "../data/imagenet/val", wnids).to_csv(tmp / "pools" / "original.csv", index=False)
        pool_table(pool_b, "candidates", wnids).to_csv(tmp / "pools" / "candidates.csv", index=False)
        truth_orig = original_set(rng[3], cfg.truth_per_class, cfg.annotators, c, prefix="truth_",
                                  render_fn=draw)
        _save_images_npz(tmp / "truth_original.npz", truth_orig)
        steps.update(1)
        truth_pool = candidates(rng[4], cfg.pool_b_per_class * c * cfg.truth_pool_factor, cfg.shift,
                                "truthcand_", cfg.annotators, c, draw)
        _save_images_npz(tmp / "truth_pool.npz", truth_pool)
        steps.update(1)
        write_novel_shapes(tmp / "data" / "novel-shapes", *novel_images(rng[5], cfg.ood_per_class, draw))
        steps.update(1)
    steps.close()
    (tmp / "world.json").write_text(json.dumps(asdict(cfg), indent=2, default=list) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


# ----------------------------------------------------------------------- recollect


def recollect(cfg: DemoConfig, world: Path) -> dict[str, Any]:
    """Build the three ImageNetV2-style variants from pool B (idempotent)."""
    from robustness.recollect.layout import write_test_set
    from robustness.recollect.pool import load_pool
    from robustness.recollect.sampling import matched_frequency, threshold, top_images

    pools = world / "pools"
    cand = load_pool(pools / "candidates.csv")
    orig = load_pool(pools / "original.csv")
    k = cfg.k_new
    samplers = {
        "matched-frequency": lambda: matched_frequency(cand, orig, k=k, seed=cfg.seed,
                                                       min_originals=min(20, cfg.original_per_class)),
        "threshold0.7": lambda: threshold(cand, k=k, t=0.7, seed=cfg.seed),
        "top-images": lambda: top_images(cand, k=k, seed=cfg.seed),
    }
    shortfalls = {}
    for variant, sample in samplers.items():
        out = world / "data" / f"imagenetv2-{variant}-format-val"
        if (out / "manifest.json").is_file():
            continue
        result = sample()
        shortfalls[variant] = [asdict(s) for s in result.shortfalls]
        shutil.rmtree(out, ignore_errors=True)
        write_test_set(result, cand, out, mode="copy")
    return shortfalls


# ------------------------------------------------------------------------- corrupt


def corrupt(cfg: DemoConfig, world: Path, progress: bool = True) -> None:
    """The first ``corrupted_per_class`` original images per class, 15 x 5 ways (PNG, lossless)."""
    from corruptions.builder import build_corrupted_set

    build_corrupted_set(
        world / "corruption-source", world / "data" / "imagenet-c", preset="tiny-imagenet",
        corruptions=list(cfg.corruptions), severities=list(cfg.severities), seed=cfg.seed,
        format="png", workers=cfg.workers, progress=progress,
    )


# ----------------------------------------------------------------------------- zoo


def _spec(name: str) -> TinyModelSpec:
    for s in SPECS:
        if s.name == name:
            return s
    raise KeyError(f"unknown demo model {name!r}; known: {[s.name for s in SPECS]}")


def _is_trained(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def _train_zoo_model(cfg: DemoConfig, name: str, world: Path, zoo: Path, progress: bool) -> None:
    """Train one zoo model into ``zoo/<name>`` (built aside, then renamed)."""
    from .models import save_timm_folder, train

    train_set = load_images(world / "train.npz")
    spec = _spec(name)
    epochs = max(1, round(spec.epochs * cfg.epochs_scale))
    if spec.family != cfg.tuned_family:
        model, log = train(replace(spec, seed=spec.seed + cfg.seed), train_set.pixels, train_set.labels,
                           progress=progress, epochs=epochs)
        extra = {"training": log, "tuned_on_test": False}
    else:
        model, extra = _tuned_on_test(cfg, spec, epochs, train_set, load_images(world / "original.npz"),
                                      progress)
    tmp = zoo / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    save_timm_folder(model, spec, tmp, extra)
    shutil.rmtree(zoo / name, ignore_errors=True)
    tmp.rename(zoo / name)


def _train_clip(cfg: DemoConfig, world: Path, folder: Path, progress: bool) -> None:
    from .clip import train_clip_folder

    train_set = load_images(world / "train.npz")
    folder.parent.mkdir(parents=True, exist_ok=True)
    train_clip_folder(clip_spec(cfg), train_set.pixels, train_set.nuisances.label, cfg.n_classes,
                      folder, progress)


def run_training_job(job: tuple) -> str:
    """One training job, ``("zoo", cfg, name, world, zoo, progress)`` or ``("clip", cfg, world,
    folder, progress)``, on one thread (restored afterwards): the weights are the same whether
    it runs in a worker process or in this one, and on any number of cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if job[0] == "zoo":
            _train_zoo_model(*job[1:])
            return job[2]
        _train_clip(*job[1:])
        return job[3].name
    finally:
        torch.set_num_threads(threads)


def zero_shot_folder(cfg: DemoConfig, cache: Path, echo: Callable[[str], None] = print) -> Path | None:
    """Where the tiny CLIP of ``cfg`` lives (``cache/clip-<clip_key>/demo-clip``); None when
    ``cfg.zero_shot`` is off or open_clip is not installed (the demo then runs without it)."""
    from importlib.util import find_spec

    if not cfg.zero_shot:
        return None
    if find_spec("open_clip") is None:
        echo("[demo] no zero-shot model: open_clip is not installed "
             "(pip install 'robustness-harness[clip]')")
        return None
    return cache / f"clip-{cfg.clip_key()}" / clip_spec(cfg).name


TRAIN_ORDER = ("demo-clip", "demo-convnext-s", "demo-convnext-xs", "demo-vit-hybrid", "demo-vit",
               "demo-resnet", "demo-deit")
"""The models from the longest training to the shortest (measured, one thread): started first."""


def train_models(cfg: DemoConfig, world: Path, cache: Path, progress: bool = True,
                 echo: Callable[[str], None] = print) -> list[Path]:
    """Train (or reuse) the zoo into ``cache/zoo-<zoo_key>/`` and the CLIP beside it; returns
    the model folders (the zoo's in ``cfg.models`` order, then the CLIP's).

    Each model trains on one thread, up to ``cfg.workers`` at a time in spawned processes
    (tiny models use a second thread poorly, and a loaded machine punishes it): the longest
    jobs (:data:`TRAIN_ORDER`: the CLIP, the tuned family) start first."""
    from tqdm.auto import tqdm

    zoo = cache / f"zoo-{cfg.zoo_key()}"
    zoo.mkdir(parents=True, exist_ok=True)
    folders = [zoo / name for name in cfg.models]
    jobs: list[tuple] = [("zoo", cfg, f.name, world, zoo, False) for f in folders if not _is_trained(f)]
    clip = zero_shot_folder(cfg, cache, echo)
    if clip is not None:
        folders.append(clip)
        if not is_clip_folder(clip):
            jobs.append(("clip", cfg, world, clip, False))
    rank = {name: i for i, name in enumerate(TRAIN_ORDER)}
    jobs.sort(key=lambda job: rank.get(job[2] if job[0] == "zoo" else job[3].name, len(rank)))
    if not jobs:
        return folders
    bar = tqdm(total=len(jobs), desc="train", unit="model", disable=not progress, leave=False)
    workers = min(max(1, cfg.workers), len(jobs))
    if workers == 1:
        for job in jobs:
            run_training_job(job[:-1] + (progress,))
            bar.update(1)
    else:
        from concurrent.futures import as_completed

        with process_pool(workers) as pool:
            for done in as_completed([pool.submit(run_training_job, job) for job in jobs]):
                bar.set_postfix_str(done.result(), refresh=False)
                bar.update(1)
    bar.close()
    return folders


def train_zero_shot(cfg: DemoConfig, world: Path, cache: Path, progress: bool = True,
                    echo: Callable[[str], None] = print) -> list[Path]:
    """Train (or reuse) the tiny CLIP into ``cache/clip-<clip_key>/``; [] when ``cfg.zero_shot``
    is off or open_clip is not installed (the demo then runs without it)."""
    folder = zero_shot_folder(cfg, cache, echo)
    if folder is None:
        return []
    if not is_clip_folder(folder):  # else trained before: reused
        run_training_job(("clip", cfg, world, folder, progress))
    return [folder]


def _family(folder: Path) -> str:
    """A demo model's family: its zoo spec's, or the CLIP's."""
    return TinyClipSpec.family if is_clip_folder(folder) else _spec(folder.name).family


def _tuned_on_test(cfg, spec, epochs, train_set, orig, progress):
    """The planted benchmark overfitting: tune against the original test set.

    The original test images leak into training (``tune_repeats`` copies beside
    the train split, ``tune_epochs`` epochs), and of all epochs the checkpoint
    with the best original-test accuracy is kept: test-set reuse for both the
    data and the model selection.
    """
    from .models import train

    x = np.concatenate([train_set.pixels] + [orig.pixels] * cfg.tune_repeats)
    y = np.concatenate([train_set.labels] + [orig.labels] * cfg.tune_repeats)
    s = replace(spec, seed=spec.seed + cfg.seed)
    model, log = train(s, x, y, progress=progress, epochs=cfg.tune_epochs,
                       select_on=(orig.pixels, orig.labels))
    return model, {"tuned_on_test": True, "training": log,
                   "tuning": f"original test set x{cfg.tune_repeats} in the training data; "
                             "checkpoint chosen by original-test top-1"}


# ---------------------------------------------------------------------------- eval


def p_set_names(cfg: DemoConfig) -> list[str]:
    """The ImageNet-P sets: every perturbation of ``cfg`` at difficulty 1, rendered in memory."""
    return [f"{P_GROUP}.{p}.1" for p in cfg.p_perturbations]


def test_set_names(cfg: DemoConfig) -> list[str]:
    from .ood import NAME as OOD_SET

    names = ["imagenet"] + [f"imagenetv2-{v}" for v in RECOLLECTED]
    names += [f"imagenet-c.{c}.{s}" for c in cfg.corruptions for s in cfg.severities]
    return names + [OOD_SET] + p_set_names(cfg)


_OPENED: dict[tuple, Any] = {}
"""Test sets opened in this process, by opener arguments: every model evaluated here reuses
them and the images they decoded (see :func:`_open_once`)."""


def _decoded_once(opened: Any) -> Any:
    """``opened`` (a reader: items ``(image, label, index, relpath)``) with each item kept once
    read: the next model gets the same decoded image instead of reading the file again. An
    ImageNet-P frame set instead keeps every sequence it renders."""
    if hasattr(opened, "sequence_frames"):
        opened.cache_size = max(opened.cache_size, len(opened.sequences))
        return opened
    base = type(opened)

    def getitem(self, index):
        index = int(index)
        if index not in self._items:
            self._items[index] = base.__getitem__(self, index)
        return self._items[index]

    opened.__class__ = type(base.__name__, (base,), {"__getitem__": getitem,
                                                     "__module__": base.__module__})
    opened._items = {}
    return opened


def _open_once(name: str, data_root, root=None, **options):
    """The catalogue's opener, once per set and process (the engine opens each set once per
    :func:`~robustness.engine.run_evaluation` call; the demo calls it once per model, in
    worker processes), so each image is decoded and each ImageNet-P sequence rendered once
    per process. A failed open (the engine's partial-set check) is not kept."""
    from robustness.datasets.registry import open_test_set

    key = (name, str(data_root), str(root), tuple(sorted(options.items())))
    if key not in _OPENED:
        _OPENED[key] = _decoded_once(open_test_set(name, data_root, root=root, **options))
    return _OPENED[key]


EVAL_ORDER = ("demo-vit-hybrid", "demo-clip", "demo-vit", "demo-resnet", "demo-deit", "demo-convnext-s",
              "demo-convnext-xs")
"""The models from the longest evaluation to the shortest (measured, one thread): started first."""


def run_eval_job(job: tuple) -> Any:
    """Evaluate one model folder on every set of the demo into the store ``out``, then predict
    the truth samples (cached beside the model for ``truth.csv``); on one thread, restored
    afterwards. ``job``: ``(cfg, world, folder, out, progress)``. Returns the engine's summary."""
    import torch

    from robustness.engine import EvalConfig, run_evaluation

    from .ood import register
    from .report import cached_truth_predictions

    cfg, world, folder, out, progress = job
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        register()  # novel-shapes, as a user registers their own set
        config = EvalConfig(batch_size=cfg.batch_size, workers=0, device="cpu", precision="fp32",
                            progress=progress, checkpoint_every=10_000)
        names = test_set_names(cfg)
        # the world covers 10 of the 1000 classes: its sets are deliberately partial copies
        options = {name: {"allow_partial": True} for name in names}
        options[P_GROUP] = {"allow_partial": True, "seed": cfg.seed, "resize": cfg.p_resize,
                            "crop": cfg.p_crop}
        summary = run_evaluation([model_reference(folder)], names, out, data_root=world / "data",
                                 roots={P_GROUP: str(world / "p-source")}, config=config,
                                 open_test_set=_open_once, dataset_options=options)
        if summary.ok:
            cached_truth_predictions(folder, world)
        return summary
    finally:
        torch.set_num_threads(threads)


def evaluate(cfg: DemoConfig, world: Path, zoo_folders: list[Path], out: Path, progress: bool):
    """Every model on every set (:func:`run_eval_job`), ``cfg.workers`` models at a time in
    spawned processes writing to one store (as Slurm jobs do), longest first."""
    from tqdm.auto import tqdm

    from robustness.engine import RunSummary

    rank = {name: i for i, name in enumerate(EVAL_ORDER)}
    folders = sorted(zoo_folders, key=lambda f: rank.get(f.name, len(rank)))
    workers = min(max(1, cfg.workers), len(folders))
    summary = RunSummary()
    if workers == 1:
        try:
            parts = [run_eval_job((cfg, world, f, out, progress)) for f in folders]
        finally:
            _OPENED.clear()  # the decoded images: kept for this evaluation only
    else:
        bar = tqdm(total=len(folders), desc="eval", unit="model", disable=not progress, leave=False)
        with process_pool(workers) as pool:
            futures = [pool.submit(run_eval_job, (cfg, world, f, out, False)) for f in folders]
            for future in futures:
                future.add_done_callback(lambda _: bar.update(1))
            parts = [future.result() for future in futures]
        bar.close()
    for part in parts:
        summary.results += part.results
        summary.model_errors.update(part.model_errors)
    if not summary.ok:
        raise RuntimeError("demo evaluation failed:\n" + summary.describe())
    return summary


# -------------------------------------------------------------------------- report


def report(cfg: DemoConfig, world: Path, folders: list[Path], out: Path) -> dict[str, Any]:
    """Standard report from the store (with calibration.csv, ood.csv and stability.csv), then
    truth.csv, adaptivity.csv and families.csv."""
    import pandas as pd

    from robustness.report.analysis import AnalysisOptions
    from robustness.report.tables import units_frame
    from robustness.report.writer import write_report
    from robustness.store import Store

    from .ood import NAME as OOD_SET
    from .ood import register
    from .report import (
        adaptivity_tables,
        beyond_accuracy,
        corrected_gaps,
        true_accuracies,
        truth_table,
    )

    register()  # ood.csv scores novel-shapes against the spec's in-distribution set
    family = {f.name: _family(f) for f in folders}
    tuned = {name: fam == cfg.tuned_family for name, fam in family.items()}
    zero_shot = {f.name for f in folders if is_clip_folder(f)}
    untuned = ",".join(name for name, t in tuned.items() if not t and name not in zero_shot)
    store = Store(out)
    baseline = cfg.stability_baseline if cfg.stability_baseline in family else None
    write_report(store, out, AnalysisOptions(fit_models=untuned, seed=cfg.seed, html=True,
                                             stability_baseline_model=baseline))
    units = units_frame(store)
    gaps = pd.read_csv(out / "gaps.csv")
    truth = true_accuracies(cfg, world, folders, cfg.seed)
    corrected = corrected_gaps(out, world, [f.name for f in folders], cfg.seed)
    table = truth_table(units, gaps, truth, corrected, tuned)
    table.to_csv(out / "truth.csv", index=False, float_format="%.3f")
    adapt, families = adaptivity_tables(out, tuned, family, seed=cfg.seed, zero_shot=zero_shot)
    adapt.to_csv(out / "adaptivity.csv", index=False, float_format="%.3f")
    families.to_csv(out / "families.csv", index=False, float_format="%.3f")
    beyond = beyond_accuracy(out, [f.name for f in folders], OOD_SET)
    return {"truth": table, "adaptivity": adapt, "families": families, "tuned": tuned,
            "beyond": beyond}


def summary_text(result: dict[str, Any]) -> str:
    """The short table printed at the end of the demo (percent, new minus original)."""
    t = result["truth"]
    mf = t[t["test_set"] == "imagenetv2-matched-frequency"].set_index("model")
    val = t[t["test_set"] == "imagenet"].set_index("model")
    er = result["adaptivity"].set_index("model")
    lines = [f"{'model':18s} {'tuned':>5s} {'val':>6s} {'MF':>6s} {'gap [95% CI]':>22s} "
             f"{'corrected':>9s} {'true dist':>9s} {'ER':>6s} flag"]
    for m in val.index:
        r = mf.loc[m]
        lines.append(
            f"{m:18s} {'yes' if result['tuned'][m] else 'no':>5s} {val.loc[m, 'measured_top1']:6.1f} "
            f"{r['measured_top1']:6.1f} {r['measured_gap']:6.1f} [{r['gap_low']:5.1f}, {r['gap_high']:5.1f}] "
            f"{r['corrected_gap']:9.1f} {r['true_distribution_gap']:9.1f} "
            f"{er.loc[m, 'effective_robustness']:6.1f} {'*' if er.loc[m, 'flagged'] else ''}"
            + ("zero-shot, not in the fit" if er.loc[m, "training"] == "zero-shot" else "")
        )
    for f in result["families"].itertuples(index=False):
        lines.append(f"family {f.family:14s} mean gap {f.mean_gap:6.1f}, minus untuned families "
                     f"{f.gap_minus_untuned:5.1f} [{f.diff_low:5.1f}, {f.diff_high:5.1f}]"
                     + ("  <- falls further than its peers" if f.flagged else ""))
    cov = t["covered"].mean()
    lines.append(f"95% intervals of measured top-1 cover the true top-1 in {100 * cov:.0f}% of "
                 f"{len(t)} (model, distribution) pairs (tuned models excluded: "
                 f"{100 * t.loc[~t['tuned_on_test'].astype(bool), 'covered'].mean():.0f}%)")
    if "beyond" in result:
        from .report import beyond_accuracy_text

        lines += ["", beyond_accuracy_text(result["beyond"])]
    return "\n".join(lines)


def default_cache() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "robustness-harness" / "demo"


def run_demo(cfg: DemoConfig | None = None, out: str | Path = "results/demo",
             cache: str | Path | None = None, progress: bool = True,
             echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every stage; return the report tables and the stage times (seconds)."""
    import torch

    cfg = cfg or DemoConfig()
    out, cache = Path(out), Path(cache) if cache is not None else default_cache()
    torch.manual_seed(cfg.seed)
    timer = StageTimer(echo=echo)
    world = timer.run("world", lambda: build_world(cfg, cache / f"world-{cfg.world_key()}", progress))
    timer.run("recollect", lambda: recollect(cfg, world))
    timer.run("corrupt", lambda: corrupt(cfg, world, progress))
    folders = timer.run("zoo+clip", lambda: train_models(cfg, world, cache, progress, echo))
    timer.run("eval", lambda: evaluate(cfg, world, folders, out, progress))
    result = timer.run("report", lambda: report(cfg, world, folders, out))
    result["times"], result["cpu"] = dict(timer.times), dict(timer.cpu)
    echo("")
    echo(summary_text(result))
    echo(f"\n[demo] total {sum(timer.times.values()):.1f} s (cpu {sum(timer.cpu.values()):.1f} s); "
         f"results in {out}/ "
         "(results-*.csv, gaps.csv, fits.csv, corruptions.csv, calibration.csv, ood.csv, stability.csv, "
         "truth.csv, adaptivity.csv, families.csv, plots/, html/index.html)")
    return result


__all__ = ["CLASS_INDICES", "DemoConfig", "build_world", "reduced_config", "run_demo", "StageTimer",
           "train_models"]
