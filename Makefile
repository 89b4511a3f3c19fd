# robustness-harness: every target calls the `robustness` CLI; no logic lives here.
# Variables a user sets on the command line:
#   DATA_ROOT   folder holding imagenet/, imagenetv2-*/, imagenet-c/, ... (see `robustness datasets`)
#   DEVICE      cuda, cuda:1, cpu (default: cuda when available)
#   BATCH_SIZE  images per forward pass
#   OUT         results folder
#   DATASETS    comma-separated test sets for the family targets (default: the catalogue's
#               published benchmarks; `robustness datasets` lists them)

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
DATA_ROOT   ?= $(HOME)/data
DEVICE      ?= auto
BATCH_SIZE  ?= 64
OUT         ?= results
DATASETS    ?= default
FAMILIES    := resnet convnext efficientnet regnet mobilenet densenet vgg vit deit swin beit eva all-cnn all-vit hf

.PHONY: install test lint demo system-deps report clip $(FAMILIES)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs the project with its dev extras. The two --no-deps packages are the
# test oracles: the original ImageNet-C code (its opencv~=3.4 pin breaks numpy 2)
# and imagecorruptions, whose data folder holds the six frost textures.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps imagenet-c==0.0.3 imagecorruptions==1.1.2
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest -q tests

lint: install
	$(BIN)/ruff check robustness corruptions tests benchmarks

demo: install
	$(BIN)/robustness demo --out $(OUT)/demo

report: install
	$(BIN)/robustness report --out $(OUT) --html

# System packages for the reference-fidelity tests (ImageMagick via Wand),
# the browser tests of the HTML report (headless Chromium and its driver) and
# the cluster tests (single-node Slurm). Debian/Ubuntu, as root.
system-deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		libmagickwand-dev slurm-wlm munge chromium chromium-driver

$(FAMILIES): install
	$(BIN)/robustness eval --family $@ --test-sets $(DATASETS) --data-root $(DATA_ROOT) \
		--device $(DEVICE) --batch-size $(BATCH_SIZE) --out $(OUT)

# zero-shot CLIP (open_clip) across the same sets: the curated family clip-zeroshot
clip: install
	$(BIN)/robustness eval --family clip-zeroshot --test-sets $(DATASETS) --data-root $(DATA_ROOT) \
		--device $(DEVICE) --batch-size $(BATCH_SIZE) --out $(OUT)
