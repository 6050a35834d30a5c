# vila-stream: two commands for newcomers (make demo, make test); the rest are steps.
# The virtual environment lives in .venv/; a stamp keyed on pyproject.toml makes a
# second run skip what is already installed.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-deps
PROTOS := $(wildcard protos/vila/v1/*.proto)
PROTO_STAMP := protos/vila/v1/.stamp-generated
# What the local cluster (`vila-stream cluster up`) and the integration tests run on:
# Java and Maven (Kafka's broker jars come from Maven Central), Redis.
CLUSTER_APT_PACKAGES := openjdk-17-jre-headless maven redis-server redis-tools
# Debian packages the tests need besides: ffmpeg (benchmark baseline, test clips),
# GStreamer's RTSP server (a real camera in the tests), docker-compose (config check).
APT_PACKAGES := ffmpeg python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
	gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-tools gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
	docker-compose $(CLUSTER_APT_PACKAGES)
# Kafka's jars, cached outside the repository (the same root as services/cluster/paths.py);
# the version is the one services/cluster/pom.xml names.
VILA_STREAM_HOME ?= $(HOME)/.cache/vila-stream
KAFKA_POM := services/cluster/pom.xml
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' $(KAFKA_POM))
KAFKA_HOME := $(VILA_STREAM_HOME)/kafka-$(KAFKA_VERSION)
KAFKA_STAMP := $(KAFKA_HOME)/.stamp-libs

# $(call apt_install,PACKAGES): installs those of PACKAGES not installed yet (as root, else with sudo).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: demo test install protos system-deps cluster-deps cluster-apt kafka bench clean help

help:
	@echo "make demo   - set up, then analyse a generated clip with the embedded default model"
	@echo "make test   - set up (Python deps, generated code, Debian packages), then the import contracts and all tests"
	@echo "make bench  - benchmarks: ingest vs ffmpeg, model batching vs per-request generate, cluster vs local"
	@echo "make install - Python deps, generated code, and what vila-stream cluster runs on (Java, Kafka jars, Redis)"

install: $(STAMP) $(PROTO_STAMP) cluster-deps

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (vila-stream needs Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip==26.3" "setuptools==81.0.0" "wheel==0.48.0"
	$(PY) -m pip install -q -e ".[dev]" --no-build-isolation
	touch $(STAMP)

$(PROTO_STAMP): $(PROTOS) protos/build.py $(STAMP)
	$(PY) protos/build.py
	touch $(PROTO_STAMP)

protos: $(PROTO_STAMP)

system-deps:
	$(call apt_install,$(APT_PACKAGES))

# The local cluster's backing services: Java, Maven and Redis from Debian, then Kafka's jars.
cluster-deps: cluster-apt $(KAFKA_STAMP)

cluster-apt:
	$(call apt_install,$(CLUSTER_APT_PACKAGES))

kafka: $(KAFKA_STAMP)

# Maven copies the broker's whole runtime classpath; a partial download never becomes libs/.
$(KAFKA_STAMP): $(KAFKA_POM) | cluster-apt
	@echo "fetching Kafka $(KAFKA_VERSION) jars from Maven Central into $(KAFKA_HOME)/libs"
	rm -rf "$(KAFKA_HOME)/libs.partial"
	mvn -q -B -f $(KAFKA_POM) dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$(KAFKA_HOME)/libs.partial"
	rm -rf "$(KAFKA_HOME)/libs" && mv "$(KAFKA_HOME)/libs.partial" "$(KAFKA_HOME)/libs"
	touch "$@"

demo: $(STAMP) $(PROTO_STAMP)
	@mkdir -p demo
	$(PY) -m services.demo demo/clip.mp4
	$(VENV)/bin/vila-stream analyze demo/clip.mp4 --window-seconds 2 --json demo/result.json --report demo/report.md

# The layering contracts first ([tool.importlinter] in pyproject.toml): a wrong import fails in a second,
# before the suite's minutes. lint-imports puts the current directory on sys.path, so it reads this
# checkout's packages (bench/ too, which the install does not ship); vila.v1 counts as external.
test: install system-deps
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

bench: install system-deps
	$(PY) -m bench.ingest_bench
	$(PY) -m bench.model_bench --config tiny
	$(PY) -m bench.cluster_bench

clean:
	rm -rf demo $(PROTO_STAMP) protos/vila/v1/*_pb2*.py protos/vila/v1/*_pb2.pyi
