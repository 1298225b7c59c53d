# Two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run demo test lint eval bench messages clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m bot migrate
	$(PY) -m bot run

# The playground (no token needed) on a database filled with a small demo programme.
demo: install
	$(PY) -m bot playground --demo

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot channels handlers matching storage

eval: install
	$(PY) eval/evaluate.py
	$(PY) eval/replay.py --data eval/hard

# As modules: a script run by path would import bench/matching.py as the matching package.
bench: install
	$(PY) -m bench.matching
	$(PY) -m bench.throughput
	$(PY) -m bench.proposals
	$(PY) -m bench.wecom
	$(PY) -m bench.feishu

# Refresh the template of message ids found in the code (texts live in locales/*/LC_MESSAGES).
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k t -k translate:2 --no-location -o locales/messages.pot .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
