"""Burrow's benchmark (scripts/bench.sh runs it): sections tcp, mem, http and longpath, each
against real peers on loopback; see main.py for the run and settings.py for the knobs."""
