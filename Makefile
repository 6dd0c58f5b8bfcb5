# The README's two commands: `make quickstart` and `make test`.
.PHONY: setup quickstart test
setup:
	bash scripts/setup.sh

quickstart: setup
	bash scripts/quickstart.sh

test: setup
	bash scripts/test.sh
