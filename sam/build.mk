# SAM application: build-<LogicalId> targets for `sam build` (BuildMethod:
# makefile), the template checks, and local invocation under the Lambda
# Runtime Interface Emulator (no Docker). Included by the root Makefile.

SAM_VENV        := $(CURDIR)/.cache/venv-sam
CHECKOV_VENV    := $(CURDIR)/.cache/venv-checkov
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
CHECKOV_VERSION := 3.3.30
RIE_VERSION     := v0.0.0-20261030222936-bef5c4ba774d
RIE             := $(BIN)/aws-lambda-rie
# Checks skipped for the whole template; sam/checkov.md gives the reasons.
CHECKOV_SKIP    := CKV_AWS_117,CKV_AWS_173,CKV_AWS_158
SAM_REGION      ?= us-east-1

LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
LAMBDA_BUILD   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_GOFLAGS)

# ---- sam build ---------------------------------------------------------------

SAM_BUILD_TARGETS := build-TrailEventsFunction build-TrailLogsFunction build-TrailArchiveFunction build-SweepFunction build-RemediateFunction build-VerifyFunction build-SettleFunction
.PHONY: $(SAM_BUILD_TARGETS)
build-TrailEventsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/trail-events
build-TrailLogsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/trail-logs
build-TrailArchiveFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/trail-archive
build-SweepFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweep
build-RemediateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/remediate
build-VerifyFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/verify
build-SettleFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/settle

# ---- tools -------------------------------------------------------------------

# SAM CLI and checkov pin conflicting versions of boto3 and friends, and
# neither may change the test virtualenv's moto: each gets its own.
$(SAM_VENV)/.installed-$(SAM_CLI_VERSION):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check 'aws-sam-cli==$(SAM_CLI_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)'
	touch $@

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	touch $@

$(RIE):
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: deps-sam
deps-sam: $(SAM_VENV)/.installed-$(SAM_CLI_VERSION) $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION) $(RIE)

# ---- checks ------------------------------------------------------------------

# cfn-lint and `sam validate --lint` clean, `sam build` (makefile build
# method, in the source tree: no Docker, no copy of .cache), checkov with
# the skips sam/checkov.md explains, over the template as it is and with
# every optional part on (sam/enable_all.py).
.PHONY: test-sam
test-sam: deps-sam
	$(SAM_VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=$(SAM_REGION) SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml --build-in-source --build-dir .aws-sam/build \
	  --parameter-overrides TrailLogGroupName=trail TrailBucketName=trail-bucket OrganizationRoleName=atrest-reader \
	    VerifyKeys=true DeduplicationTable=Enabled SecurityHub=Enabled
	@for f in TrailEventsFunction TrailLogsFunction TrailArchiveFunction SweepFunction RemediateFunction VerifyFunction SettleFunction; do \
	  $(PYTHON) -c 'import sys; b=open(sys.argv[1],"rb").read(20); sys.exit(0 if b[:4]==b"\x7fELF" and b[18:20]==b"\xb7\x00" else 1)' .aws-sam/build/$$f/bootstrap \
	    || { echo "$$f: bootstrap is not a linux/arm64 ELF"; exit 1; }; done
	@echo "sam build: 7 linux/arm64 bootstraps"
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -f template.yaml --framework cloudformation \
	  --skip-check $(CHECKOV_SKIP)
	@mkdir -p .cache/checkov && $(PYTHON) sam/enable_all.py template.yaml .cache/checkov/template-all-on.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -f .cache/checkov/template-all-on.yaml --framework cloudformation \
	  --skip-check $(CHECKOV_SKIP)

# `make sam-dashboard` copies sam/dashboard.json into the template's
# DashboardBody (a test fails while they differ).
.PHONY: sam-dashboard
sam-dashboard:
	$(PYTHON) sam/inline_dashboard.py template.yaml sam/dashboard.json

# ---- local invocation ----------------------------------------------------------

# make invoke FUNCTION=trail-events EVENT=events/01-eventbridge-kms-createkey-symmetric.json
# builds the function for this machine, runs it under the Runtime Interface
# Emulator on 127.0.0.1 with the memory store and events/s3 as the S3 root,
# posts the event and prints the response, then the function's output.
FUNCTION   ?= trail-events
EVENT      ?= events/01-eventbridge-kms-createkey-symmetric.json
RIE_PORT   ?= 9080
RIE_API_PORT ?= 9081
INVOKE_DIR := $(CURDIR)/.cache/invoke/$(FUNCTION)

.PHONY: invoke
invoke: $(RIE)
	CGO_ENABLED=0 $(GO) build $(LAMBDA_GOFLAGS) -o $(INVOKE_DIR)/bootstrap ./functions/$(FUNCTION)
	@set -m; ATREST_STORE=$${ATREST_STORE:-memory} ATREST_S3_ROOT=$${ATREST_S3_ROOT:-$(CURDIR)/events/s3} ATREST_METRICS=emf \
	  AWS_REGION=$${AWS_REGION:-us-east-1} AWS_LAMBDA_FUNCTION_NAME=$(FUNCTION) \
	  $(RIE) --runtime-interface-emulator-address 127.0.0.1:$(RIE_PORT) --runtime-api-address 127.0.0.1:$(RIE_API_PORT) \
	  $(INVOKE_DIR)/bootstrap > $(INVOKE_DIR)/output.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	for i in $$(seq 50); do curl -s -o /dev/null http://127.0.0.1:$(RIE_PORT)/ && break; sleep 0.1; done; \
	echo "response:"; curl -s -XPOST --data-binary @$(EVENT) http://127.0.0.1:$(RIE_PORT)/2015-03-31/functions/function/invocations; echo; \
	sleep 0.3; echo "output:"; cat $(INVOKE_DIR)/output.log
