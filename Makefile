# make run               local relay: moto + cargo lambda watch (TopicType=Standard); installs only requirements-run.txt
# make run TOPIC_TYPE=Fifo
# make test              the project's checks (dev/test.sh)
# make validate          cfn-lint and sam validate on template.yaml
# make bench             performance figures beside their budgets (perf/bench.sh; ~20 min the first time)
# make docs              schema/asyncapi.yaml as Markdown, to target/asyncapi/asyncapi.md (generated, not committed)
# make sbom              CycloneDX SBOM of each function, to target/sbom/ (generated, not committed; dev/sbom.sh)

TOPIC_TYPE ?= Standard
VENV := .venv

.PHONY: run test validate bootstrap bootstrap-run bench fuzz docs sbom

bootstrap:
	@bash dev/bootstrap.sh

bootstrap-run:
	@bash dev/bootstrap.sh --run

run: bootstrap-run
	@$(VENV)/bin/python dev/run_local.py --topic-type $(TOPIC_TYPE)

test:
	@bash dev/test.sh

validate: bootstrap
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --lint --region us-east-1

fuzz:
	@bash dev/fuzz.sh $(FUZZ_SECONDS)

bench:
	@bash perf/bench.sh

docs: bootstrap
	$(VENV)/bin/node dev/asyncapi/docs.mjs schema/asyncapi.yaml target/asyncapi/asyncapi.md

sbom: bootstrap
	@bash dev/sbom.sh
