# The gateway and its contract suite. `make e2e` runs the suite on the embedded control plane and
# writes reports/; `make test` runs every test. See README.md.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
RUNS ?= 5
LOAD ?= 0
E2E_FLAGS ?=

IMAGE_FLAGS ?= -load

.PHONY: all deps controlplane image generate verify-generate verify unit report-html e2e e2e-container e2e-gateway-container e2e-must-fail e2e-contract test flake bench clean-cluster clean shards-merge e2e-shards

all: test

## deps: download the Go modules of the project, its control-plane and Alertmanager builds and its tools
deps:
	$(GO) mod download
	cd support/controlplane/build && $(GO) mod download
	cd support/alertmanager/build && $(GO) mod download
	cd hack/tools && $(GO) mod download

## controlplane: build kube-apiserver, etcd and Alertmanager from Go modules once (6 to 23 min cold on 2 cores, measured; then cached)
controlplane:
	$(GO) run ./support/cmd/controlplane

## image: build the gateway's image (static binary on an empty base, reproducible, no Dockerfile) and
## load it into the local Docker engine as kubernaut-gateway:<commit>[-dirty] and :latest (what
## gateway/config/default runs). IMAGE_FLAGS='-archive bin/gateway.tar' writes a docker-save
## tarball instead (for `kind load image-archive`). The manifests need no generation step:
## `kubectl apply -k gateway/config/default` (support/deploy renders the same with kustomize's API).
image:
	$(GO) run ./support/cmd/image $(IMAGE_FLAGS)

## generate: regenerate deepcopy, CRD and RBAC with controller-gen
generate:
	bash hack/generate.sh

## verify-generate: fail when the committed generated files are stale
verify-generate:
	bash hack/verify-generate.sh

## verify: formatting, vet, generated files, the black-box rule, words about the work on the project,
## and actionlint over .github/workflows (pinned in hack/tools/go.mod; a copy broken on purpose must fail it)
verify: verify-generate
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-clean: $$unformatted (run gofmt -w)"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run '^(TestPackageMap|TestProjectSpeaksOfItself|TestProcessWord)$$' ./support/repo
	bash hack/lint-workflows.sh

## unit: unit, property and fuzz-seed tests of the gateway and the harness (includes the local control plane test)
unit:
	$(GO) test -count=1 -timeout 30m ./gateway/... ./support/... ./steps/...

## e2e: the contract suite on the embedded control plane (E2E_CLUSTER picks another); reports in
## reports/ (E2E_REPORT_DIR), with the commit they were made at. E2E_SHARD=2/4 runs one shard.
e2e:
	out=$${E2E_REPORT_DIR:-reports}; mkdir -p "$$out"; \
	  { git rev-parse HEAD 2>/dev/null || echo unknown; } >"$$out/commit"; \
	  $(GO) test -count=1 -v -timeout 30m ./e2e $(E2E_FLAGS) 2>&1 | tee "$$out/e2e.log"

## shards-merge: the shards' results (SHARDS_DIR/shard-*/cucumber.json, as CI's job matrix leaves them)
## merged into the one report of a whole run in SHARDS_DIR/merged, with its gate; the Markdown also
## goes to $$GITHUB_STEP_SUMMARY when it is set
SHARDS_DIR ?= reports/shards
shards-merge:
	$(GO) run ./support/cmd/trace --shards --catalog features/requirements.yaml --out $(SHARDS_DIR)/merged \
	  '$(SHARDS_DIR)/shard-*/cucumber.json'
	if [ -n "$${GITHUB_STEP_SUMMARY:-}" ]; then cat $(SHARDS_DIR)/merged/traceability.md >>"$$GITHUB_STEP_SUMMARY"; fi

## e2e-shards: the sharded suite proven on one machine: N shards (make e2e with E2E_SHARD) one after
## another, merged (make shards-merge), and compared with one whole run of the same commit: the
## reports/ of the make e2e just before when it is of this commit, else a run of its own
N ?= 3
e2e-shards:
	N=$(N) bash hack/e2e-shards.sh

## e2e-must-fail: prove the suite can fail: with retries off, the resilience scenarios must fail
e2e-must-fail:
	bash hack/must-fail.sh

## e2e-contract: the suite against a gateway it did not launch (E2E_GATEWAY_URL), excluding @launched-gateway
e2e-contract:
	bash hack/contract-mode.sh

## e2e-container: the suite on the control plane in a container (E2E_CLUSTER=container); skipped, saying so, without a Docker engine
e2e-container:
	@if ! docker info >/dev/null 2>&1; then \
	  echo "e2e-container: SKIPPED: no Docker engine answers 'docker info'; the container provider needs a local one"; exit 0; fi
	mkdir -p reports/container
	E2E_CLUSTER=container E2E_REPORT_DIR=reports/container $(GO) test -count=1 -timeout 30m ./e2e -run '^TestFeatures$$' 2>&1 | tee reports/container/e2e.log

## e2e-gateway-container: the contract suite with every launched gateway run as deployed
## (E2E_GATEWAY_RUNTIME=container): the image of this checkout, gateway/config/default applied, the
## Pod template's container on its in-cluster identity; skipped, saying so, without a Docker engine
e2e-gateway-container:
	@if ! docker info >/dev/null 2>&1; then \
	  echo "e2e-gateway-container: SKIPPED: no Docker engine answers 'docker info'; the container runtime runs the gateway's image in a local one"; exit 0; fi
	mkdir -p reports/gateway-container
	E2E_GATEWAY_RUNTIME=container E2E_REPORT_DIR=reports/gateway-container $(GO) test -count=1 -timeout 30m ./e2e -run '^TestFeatures$$' 2>&1 | tee reports/gateway-container/e2e.log

## report-html: the traceability report's HTML rendered in headless Chromium (.ci/run installs it)
report-html:
	$(GO) test -count=1 -tags chromium -run TestHTMLInChromium ./support/report

## test: every test: verify, unit, the contract suite on the embedded control plane with the gateway
## as a process and as the deployed container, on the control plane in a container (the Docker
## passes are skipped, saying so, without Docker), the proofs that it can fail, and contract mode
## against the deployed image.
test: verify unit report-html e2e e2e-gateway-container e2e-container e2e-must-fail e2e-contract

## flake: run the suite RUNS times and merge the results; fails when a scenario that is not quarantined failed in any run.
## LOAD=1 runs it under load: a CPU burner beside the suite and E2E_CONCURRENCY=16; the launched
## gateways then get patient bounds (E2E_GATEWAY_ARGS, unless set: 3 s per API call, a 15 s deadline),
## the bounds the steps assert follow them, and an answer may take 5 s beyond the deadline, not 1.5
## (E2E_TIMEOUT_ANSWER_MARGIN, unless set).
flake:
	rm -rf reports/flake; mkdir -p reports/flake
	$(GO) build -o reports/flake/burn ./support/cmd/burn
	if [ "$(LOAD)" = 1 ]; then reports/flake/burn -for 2h & echo $$! > reports/flake/burn.pid; fi; \
	trap 'if [ -f reports/flake/burn.pid ]; then kill $$(cat reports/flake/burn.pid) 2>/dev/null; fi' EXIT; \
	for i in $$(seq 1 $(RUNS)); do \
	  if [ "$(LOAD)" = 1 ]; then export E2E_CONCURRENCY=$${E2E_CONCURRENCY:-16} \
	    E2E_GATEWAY_ARGS="$${E2E_GATEWAY_ARGS:---api-call-timeout=3s --request-deadline=15s}" \
	    E2E_TIMEOUT_ANSWER_MARGIN=$${E2E_TIMEOUT_ANSWER_MARGIN:-5s}; fi; \
	  E2E_REPORT_DIR=reports/flake/run-$$i $(GO) test -count=1 -timeout 30m ./e2e >reports/flake/run-$$i.log 2>&1 \
	    && echo "flake: run $$i passed" || echo "flake: run $$i failed (log: reports/flake/run-$$i.log)"; \
	done
	$(GO) run ./support/cmd/trace --catalog features/requirements.yaml --out reports/flake --no-flaky \
	  $$(for i in $$(seq 1 $(RUNS)); do echo reports/flake/run-$$i/cucumber.json; done)

## bench: benchmarks of the gateway's request path and the harness, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./gateway/... ./support/...

## clean-cluster: kill control planes that killed runs left running, then remove namespaces that crashed runs left on the cluster of KUBECONFIG
clean-cluster:
	$(GO) run ./support/cmd/cleanup

clean:
	rm -rf reports bin

## soak: 1,000 alerts through 2 real Alertmanagers into a dedicated gateway under a seeded schedule
## of faults and a SIGKILL, then a check from the cluster; SOAK_FLAGS='--size=ci' is the CI size,
## '--seed N' replays a schedule; writes reports/soak.json (see support/cmd/soak)
.PHONY: soak
SOAK_FLAGS ?=
soak:
	$(GO) run ./support/cmd/soak $(SOAK_FLAGS)

## bench-load: the gateway at the API server's limit, side by side with raw client-go in one run
## (support/cmd/loadbench); prints a table, writes reports/perf.json and reports/perf.md.
## LOADBENCH_FLAGS='-duration 3s -levels 1,16' changes the points; '-overload-senders 200
## -overload-duration 5s' makes the overload small (2,000 senders for 30 s by default; 0 skips it).
.PHONY: bench-load
LOADBENCH_FLAGS ?=
bench-load:
	$(GO) run ./support/cmd/loadbench $(LOADBENCH_FLAGS)

## mutation: the suite's power, measured: every mutant of hack/mutants/catalog.yaml (a small bug of
## the gateway naming the requirements that must catch it) is built and the compiled suite runs the
## scenarios of its requirements against it, 2 runs at a time on one shared control plane; a
## surviving mutant fails the target unless the catalog accepts it as equivalent. A baseline run of
## the whole suite against a coverage-instrumented gateway gives the statement coverage. Writes
## reports/mutation.json (shown by the traceability report) and reports/mutation/. MUTATION_FLAGS:
## '--only ID,ID', '--check' (apply and build only), '--parallel N'. About 15 minutes on 2 cores
## with the control plane built (docs/measurements.md).
.PHONY: mutation
MUTATION_FLAGS ?=
mutation:
	$(GO) run ./support/cmd/mutation $(MUTATION_FLAGS)
