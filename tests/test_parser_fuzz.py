"""Fuzz the 14 parse functions with malformed layer sets under AddressSanitizer + UndefinedBehaviorSanitizer
(+ float-cast-overflow, which GCC leaves out of "undefined"; tests/native/parser_fuzz.cpp; a few seconds, two threads).
Any sanitizer report or contract violation fails."""

from __future__ import annotations

import os
import subprocess

import pytest

import parser_checks as pc

SECONDS = float(os.environ.get("FACEMASK_FUZZ_SECONDS", "4"))


@pytest.mark.slow
def test_parse_functions_survive_malformed_input_under_asan_ubsan():
    bdir = pc.cmake_build("asan-ubsan", {"FACEMASK_SANITIZE": "address,undefined,float-cast-overflow"},
                          targets=("nvdsinfer_facemask", "parser_fuzz"))
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("FACEMASK_PARSER_CONFIG", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    seed = int(os.environ.get("FACEMASK_FUZZ_SEED", "1"))
    r = subprocess.run([str(pc.built_tool(bdir, "parser_fuzz")), str(pc.built_library(bdir)), str(SECONDS),
                        str(seed)], capture_output=True, text=True, env=env, timeout=300)
    out = r.stdout + r.stderr
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "VIOLATION"):
        assert marker not in out, out[-6000:]
    assert r.returncode == 0, out[-6000:]
    assert "0 violations" in r.stdout
    calls = int(r.stdout.split("parser_fuzz: ")[1].split()[0])
    assert calls > 200, r.stdout  # it really ran
