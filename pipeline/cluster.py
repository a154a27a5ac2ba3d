"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

Started with the pyspark distribution's own classes (``bin/spark-class
org.apache.spark.deploy.master.Master`` / ``...worker.Worker``), the same daemons a cluster
runs, so jobs submitted to ``spark://127.0.0.1:PORT`` go through real executor JVMs and
Python workers on other processes than the driver. Used by the cluster and fault tests and
by bench/. Each worker runs in its own process group: ``kill_worker`` takes down its JVM,
the executor JVM it launched and that executor's Python workers at once, as losing a
machine would.

    with StandaloneCluster(workers=2, cores=1, memory="2g", root=tmp) as cluster:
        interleaf run --master cluster.master_url ...
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 120.0


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(root: Path) -> dict[str, str]:
    """What the daemons and the jobs need: loopback binding, this Python on executors."""
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOCAL_DIRS": str(root / "local"), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}
    env.pop("SPARK_MASTER_HOST", None)
    return env


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen
    log: Path
    webui_port: int

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class StandaloneCluster:
    workers: int = 2
    cores: int = 1  # per worker
    memory: str = "2g"  # per worker (executors get up to this)
    root: Path = field(default_factory=lambda: Path("spark-cluster"))
    master_port: int = 0
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    def conf(self) -> dict[str, str]:
        """Spark conf a driver needs to use this cluster from this machine."""
        return {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                "spark.executor.memory": "1g", "spark.executor.cores": str(self.cores)}

    def _spawn(self, name: str, cls: str, args: list[str], webui_port: int) -> Daemon:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{name}.log"
        cmd = [str(spark_home() / "bin" / "spark-class"), cls, *args]
        with open(log, "ab") as out:
            # A session of its own: killpg reaches the worker's executor and Python workers too.
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=cluster_env(self.root),
                                    start_new_session=True, cwd=self.root)
        daemon = Daemon(name, proc, log, webui_port)
        self.daemons.append(daemon)
        return daemon

    def start(self) -> StandaloneCluster:
        self.root = Path(self.root).resolve()
        (self.root / "local").mkdir(parents=True, exist_ok=True)
        self.master_port = self.master_port or free_port()
        master_ui = free_port()
        self._spawn("master", "org.apache.spark.deploy.master.Master",
                    ["--host", "127.0.0.1", "--port", str(self.master_port), "--webui-port", str(master_ui)],
                    master_ui)
        for i in range(self.workers):
            self.add_worker(i)
        self.wait_for_workers(self.workers)
        return self

    def add_worker(self, index: int) -> Daemon:
        work = self.root / f"work-{index}"
        work.mkdir(parents=True, exist_ok=True)
        ui = free_port()
        return self._spawn(f"worker-{index}", "org.apache.spark.deploy.worker.Worker",
                           ["--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
                            "--webui-port", str(ui), "--work-dir", str(work), self.master_url], ui)

    def state(self) -> dict:
        """The master's own JSON status (workers with their state, applications)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.daemons[0].webui_port}/json/", timeout=5) as r:
            return json.load(r)

    def alive_workers(self) -> int:
        return sum(1 for w in self.state().get("workers", []) if w.get("state") == "ALIVE")

    def wait_for_workers(self, n: int, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            dead = [d.name for d in self.daemons if not d.alive]
            if dead:
                raise RuntimeError(f"spark daemon(s) {dead} exited; see {self.root}/*.log")
            try:
                if self.alive_workers() >= n:
                    return
            except OSError:
                pass  # the master's web UI is not up yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} workers not registered with {self.master_url} after {timeout:.0f} s; "
                                   f"see {self.root}/*.log")
            time.sleep(0.5)

    def worker(self, index: int) -> Daemon:
        return next(d for d in self.daemons if d.name == f"worker-{index}")

    def kill_worker(self, index: int) -> None:
        """SIGKILL the worker's process group: its JVM, executor JVM and Python workers."""
        daemon = self.worker(index)
        try:
            os.killpg(daemon.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        daemon.proc.wait(timeout=30)
        self.daemons.remove(daemon)  # gone on purpose: not a daemon that failed

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            if daemon.alive:
                try:
                    os.killpg(daemon.proc.pid, signal.SIGTERM)
                    daemon.proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(daemon.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    daemon.proc.wait(timeout=10)

    def __enter__(self) -> StandaloneCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
