# Front door for developers and CI. `make demo` runs the main job, `make test` runs the tests.
.PHONY: setup test test-slow lint contract demo lab-demo clean

setup: .venv/.installed

.venv/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

test: setup
	.venv/bin/python -m pytest

test-slow: setup
	.venv/bin/python -m pytest -m "slow or lab"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

# Regenerate what the deployment contract (dirac_core/contract) gives: playbooks/vars/components.yml, docs tables.
contract: setup
	.venv/bin/python -m dirac_core.contract --write

demo: setup
	bash scripts/demo.sh

lab-demo: setup
	bash scripts/lab-demo.sh

clean:
	rm -rf .venv build *.egg-info
