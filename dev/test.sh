#!/usr/bin/env bash
# TODO: placeholder; the real test script replaces this file.
echo "dev/test.sh: TODO, no tests wired up yet" >&2
exit 1
