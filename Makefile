# The two commands of the README:
#   make deploy   deploy the whole stack to the embedded local test host (container omero-local)
#   make test     lint, syntax checks, unit tests and every molecule scenario (what CI runs)
SHELL := /bin/bash
export OMERO_DEPLOY_CACHE ?= $(HOME)/.cache/omero-deploy
export OMERO_DEPLOY_WHEELHOUSE ?= $(OMERO_DEPLOY_CACHE)/wheelhouse
export PATH := $(OMERO_DEPLOY_CACHE)/venv/bin:$(PATH)
# full: every platform of every scenario (CI); quick: the OMERO Python tier on Debian 12 only.
export OMERO_DEPLOY_MATRIX ?= full
export ANSIBLE_VAULT_PASSWORD_FILE := $(OMERO_DEPLOY_CACHE)/vault-password
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: setup deploy destroy test test-accounts lint unit molecule

setup:
	scripts/setup-host

deploy: setup
	scripts/local-host up omero-local
	ansible-playbook -i inventories/local/hosts.yml playbooks/site.yml

destroy:
	scripts/local-host down omero-local

test: setup
	scripts/run-tests

# The DMP's account flows and the real server's rules, against the in-process stand-in, or against a
# real OMERO.server when OMERO_TEST_HOST (+ OMERO_TEST_PASSWORD) is set. Also part of `make test`.
test-accounts: setup
	pytest -ra tests/accounts

lint:
	scripts/run-tests lint

unit:
	scripts/run-tests unit

molecule:
	scripts/run-tests molecule
