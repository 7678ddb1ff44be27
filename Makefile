# Two commands for a fresh machine with only Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.zsbench-installed

# torch and torchvision are pinned to the builds this project is tested with.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test lint install clean leaderboard

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zsbench run

test: $(STAMP)
	$(BIN)/ruff check zsbench tests plugins benchmarks
	$(BIN)/python -m pytest -q

# The published synthetic leaderboard (leaderboards/README.md): every method x 3 text encoders x
# 12 random class splits, and the pretrained rows (about 2 h 32 min from empty on 2 cores, estimated in leaderboards/README.md). Resumable: run it again after a kill and
# finished runs are kept.
LEADERBOARD_RUNS ?= runs/leaderboard-synthetic
LEADERBOARD_SWEEP ?=  # e.g. --workers 4 on a larger machine; 2 workers on 2 cores is slower than 1
LEADERBOARD_OUT ?= leaderboards/synthetic
# the pretrained encoders: their paths are written in the sweep files, so they stay here
PRETRAIN := runs/leaderboard-synthetic/pretrain
leaderboard: $(STAMP) $(PRETRAIN)/all/pretrained.pt
	$(BIN)/zsbench sweep --config leaderboards/synthetic/zero-shot.yaml --out $(LEADERBOARD_RUNS)/zero-shot --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench sweep --config leaderboards/synthetic/linear.yaml --out $(LEADERBOARD_RUNS)/linear --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench sweep --config leaderboards/synthetic/lesa.yaml --out $(LEADERBOARD_RUNS)/lesa --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench sweep --config leaderboards/synthetic/upper-bound.yaml --out $(LEADERBOARD_RUNS)/upper-bound --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench pretrain --unseen-of '$(LEADERBOARD_RUNS)/zero-shot/splits/*.yaml' --drop-images --out $(PRETRAIN)/strict --quiet
	$(BIN)/zsbench sweep --config leaderboards/synthetic/pretrained-encoder.yaml --out $(LEADERBOARD_RUNS)/pretrained-encoder --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench sweep --config leaderboards/synthetic/clip-zeroshot.yaml --out $(LEADERBOARD_RUNS)/clip-zeroshot --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench sweep --config leaderboards/synthetic/clip-zeroshot-all.yaml --out $(LEADERBOARD_RUNS)/clip-zeroshot-all --skip-existing $(LEADERBOARD_SWEEP)
	$(BIN)/zsbench leaderboard build $(LEADERBOARD_RUNS) --out $(LEADERBOARD_OUT) \
		--title "zsbench synthetic chest X-ray benchmark: GZSL and vision-language methods on 12 random 10/4 class splits, every unseen class covered"

# the non-strict encoder of the leaderboard: one pretraining that named every finding
$(PRETRAIN)/all/pretrained.pt: | $(STAMP)
	$(BIN)/zsbench pretrain --out $(PRETRAIN)/all --quiet

lint: $(STAMP)
	$(BIN)/ruff check zsbench tests plugins benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
