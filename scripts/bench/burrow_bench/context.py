"""One benchmark run: its settings, temporary directory, processes, and the problems it noted."""
import shutil

from .console import log
from .procs import Procs

TOKEN = "bench-token"


class Run:
    def __init__(self, settings, tmp, out):
        self.settings = settings
        self.tmp = tmp          # configs, raw results and logs while the run lasts
        self.out = out          # BENCH_OUT/<timestamp>
        self.procs = Procs(tmp)
        self.made_run_sshd = False
        self._binaries = {}

    def note(self, msg):
        """Something the report must show (under 'Burrow problems during the run')."""
        log(f"NOTE: {msg}")
        self.add_problem_lines(msg + "\n")

    def add_problem_lines(self, text):
        with open(self.tmp / "problems.txt", "a") as f:
            f.write(text)

    def binaries(self, baseline=False):
        """(burrow-server, burrow-client), copied into TMP once, so a concurrent rebuild cannot
        swap them mid-run; baseline=True: those of BURROW_BASELINE_BIN."""
        key = "baseline" if baseline else "burrow"
        if key not in self._binaries:
            src = self.settings.baseline_bin if baseline else self.settings.burrow_bin
            pair = []
            for role in ("server", "client"):
                dst = self.tmp / f"{key}-{role}"
                shutil.copy2(src / f"burrow-{role}", dst)
                pair.append(dst)
            self._binaries[key] = tuple(pair)
        return self._binaries[key]
