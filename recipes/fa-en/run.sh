#!/usr/bin/env bash
# The Persian->English recipe: the en-fa recipe's steps with the fa_en_tiny experiment (the same
# data, read the other way). Same options and environment as recipes/en-fa/run.sh.
EXPERIMENT=${EXPERIMENT:-fa_en_tiny} exec "$(dirname "${BASH_SOURCE[0]}")/../en-fa/run.sh" "$@"
