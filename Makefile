# Every target installs what it needs into .venv first; only Python >= 3.10 is assumed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; pin it so pip never picks a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install demo test lint format docs bench notebooks clean browser

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The demo experiment end to end: generate the synthetic corpus, train, translate, score.
DEMO := runs/demo
DEMO_DATA := data/demo-1-20000/test
demo: install
	$(BIN)/seq2seq-train experiment=demo paths.output_dir=$(DEMO)
	$(BIN)/seq2seq-translate -m $(DEMO)/model --beam 5 -i $(DEMO_DATA)/demo.en -o $(DEMO)/test.hyp
	@echo "--- a few test sentences, translated with beam search (beam 5):"
	@head -n 8 $(DEMO_DATA)/demo.en | paste -d '\n' - <(head -n 8 $(DEMO)/test.hyp) /dev/null
	@echo "--- the whole demo test set ($$(wc -l < $(DEMO_DATA)/demo.en) sentences), beam 5:"
	@$(BIN)/sacrebleu $(DEMO_DATA)/demo.fa -i $(DEMO)/test.hyp -m bleu chrf --format text

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# docs/cli.md, rendered from the commands' parsers (tests/cli/test_reference.py checks it).
docs: install
	$(BIN)/python -m seq2seq.cli.reference

# The page of seq2seq-serve is tested in a real headless browser: Debian's chromium and its
# driver, installed here when missing (as root, or through sudo without a password); where that
# fails, the browser test is skipped and says why.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
APT_BROWSER := $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null 2>&1
browser:
	@(command -v chromium && command -v chromedriver) >/dev/null || $(APT_BROWSER) \
	|| ($(SUDO) apt-get update -q >/dev/null 2>&1 && $(APT_BROWSER)) \
	|| echo "note: chromium and chromedriver could not be installed: the page test is skipped"

# The tests on a worker per core (pytest-xdist: most of a test's time is a command's start-up,
# on one core), then the slow ones (the notebooks that train the demo experiment in full, and
# the decoder-only model pre-trained and fine-tuned), one at a time: each trains on every core.
test: lint browser
	$(BIN)/python -m pytest -n auto
	$(BIN)/python -m pytest -m slow

bench: install
	$(BIN)/python bench/model_forward.py --steps 10

# The notebooks, executed headless; copies with their outputs go to runs/notebooks/.
notebooks: install
	$(BIN)/python notebooks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
