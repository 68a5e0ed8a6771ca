"""casampi's `MPIInterface` (the cluster interface CASA's imagers use) and `MPIInterfaceCore`
(its `_cluster`), on the casampi client adapter (`core.casampi.MPICommandClient`).

`push` and `pull` move variables as ordinary commands (`_push_variables`, `pull`); once the
native client has its own `push`/`pull`, only `_push_variables` changes.
"""
from __future__ import annotations


from core.casampi.MPICommandClient import MPICommandClient
from core.casampi.MPIEnvironment import MPIEnvironment
from core.casampi.private.MPIMonitorClient import MPIMonitorClient
from core.casampi.private.singleton import SingletonHandle

_STATUS_ORDER = ("request sent", "holding queue", "timeout", "response received")
_STATUS_HEADER = ["JOB ID", "SERVER", "HOSTNAME", "QUEUE STATUS", "COMMAND", "ELAPSED TIME (s)", "EXECUTION STATUS"]


def _require_client(name: str) -> None:
    if not MPIEnvironment.is_mpi_client:
        raise Exception(f"{name} can only be instantiated at master MPI process")


class _InterfaceCore:
    def __init__(self):
        self._client = MPICommandClient()
        self._monitor = MPIMonitorClient()

    def start_cluster(self, cl_file=None) -> None:
        if cl_file is not None:
            raise NotImplementedError(f"MPIInterfaceCore.start_cluster({cl_file!r}): mpipanel takes its servers "
                                      f"from mpiexec or spawns them; it reads no cluster file")
        self._client.set_log_mode(MPIInterface._log_mode)
        self._client.start_services()

    def stop_cluster(self) -> None:
        self._client.stop_services()

    def get_engines(self) -> list[int]:
        return MPIEnvironment.mpi_server_rank_list()

    def get_nodes(self) -> list[str]:
        return list({self._monitor.get_server_status_keyword(s, "processor")
                     for s in MPIEnvironment.mpi_server_rank_list()})

    def pgc(self, commands, block=True):
        """A dict {server: command} runs each command on its server; a command alone runs on
        every server (then block=False returns the ids)."""
        if isinstance(commands, dict):
            ids = [self._client.push_command_request(cmd, False, server)[0] for server, cmd in commands.items()]
            return self._client.get_command_response(ids, block, True)
        return self._client.push_command_request(commands, block, MPIEnvironment.mpi_server_rank_list())

    def odo(self, job, nodes):
        return self._client.push_command_request(job, False, nodes)

    def execute(self, job, nodes):
        return self._client.push_command_request(job, True, nodes)

    def push(self, variables, targets=None):
        servers = MPIEnvironment.mpi_server_rank_list() if targets in (None, "all") else list(targets)
        return self._push_variables(dict(variables), servers)

    def _push_variables(self, variables: dict, servers: list[int]):
        """Bind the variables as names on the servers: casampi's 'push' command, for now."""
        return self._client.push_command_request("push", True, servers, variables)

    def pull(self, varname="", targets=None) -> dict:
        responses = self.pgc(varname) if targets is None else self.execute(varname, targets)
        return {response["server"]: response["ret"] for response in responses}

    def check_job(self, jobId, verbose=True) -> bool:
        """True when every job is done, False while one is pending; raises if one failed."""
        ids = list(jobId)
        responses = self._client.get_command_response(ids, False, verbose)
        errors = [f"Exception executing command in server {r['server']}: {r['traceback']}"
                  for r in responses if not r["successful"]]
        if errors:
            raise Exception("\n".join(errors))
        return len(responses) == len(ids)

    def get_server_status(self):
        return self._client.get_server_status()

    def get_command_request_list(self):
        return self._client.get_command_request_list()

    def get_command_response_list(self):
        return self._client.get_command_response_list()


class MPIInterfaceCore(SingletonHandle):
    @classmethod
    def _create(cls):
        _require_client("MPIInterfaceCore")
        return _InterfaceCore()


class _Interface:
    def __init__(self):
        self._cluster = MPIInterfaceCore()
        self._client = MPICommandClient()

    def isClusterRunning(self) -> bool:
        return self._client.get_lifecyle_state() == 1

    def init_cluster(self, clusterfile=None, project=None) -> None:
        self._cluster.start_cluster(clusterfile)

    def start_cluster(self) -> None:
        self._cluster.start_cluster()

    def stop_cluster(self) -> None:
        self._cluster.stop_cluster()

    def do_and_record(self, cmd, id=None, group="", subMS=""):
        return self._cluster.odo(cmd, id)

    def get_engine_store(self, id):
        return self._cluster.execute("os.getcwd()", id)[0]["ret"]

    def set_log_level(self, log_level) -> None:
        self._client.set_log_level(log_level)

    def get_status(self) -> list[list[str]]:
        """Every request as a table row, printed and returned (casampi's columns and order)."""
        requests = self._cluster.get_command_request_list()
        responses = self._cluster.get_command_response_list()
        servers = self._cluster.get_server_status()
        table = [list(_STATUS_HEADER)]
        for status in _STATUS_ORDER:
            for job_id, request in requests.items():
                if request["status"] == status:
                    server = request["server"]
                    host = servers[server]["processor"] if server in servers else ""
                    table.append([str(job_id), str(server), host, status, request["command"],
                                  _elapsed(status, responses.get(job_id)), _execution(status, responses.get(job_id))])
        MPIInterface.print_table(table)
        return table


def _elapsed(status: str, response) -> str:
    if status == "holding queue":
        return "N/A"
    if status == "response received":
        return "%.2f" % (response["command_stop_time"] - response["command_start_time"])
    return "unset"


def _execution(status: str, response) -> str:
    if status in ("request sent", "holding queue"):
        return "pending"
    if status == "timeout":
        return "timeout"
    if not response["successful"]:
        return "exception raised"
    ret = response["ret"]
    return f"completed - {ret}" if isinstance(ret, bool) else "completed"


class MPIInterface(SingletonHandle):
    _log_mode = "unified"

    @classmethod
    def _create(cls):
        _require_client("MPIInterface")
        return _Interface()

    @staticmethod
    def set_log_mode(logmode) -> None:
        MPIInterface._log_mode = logmode

    @staticmethod
    def getCluster():
        """The interface with its cluster started (again, if it was not running)."""
        cluster = MPIInterface()
        if not cluster.isClusterRunning():
            cluster.init_cluster()
        cluster.start_cluster()
        return cluster

    @staticmethod
    def print_table(table) -> None:
        widths = [max(len(x) for x in column) for column in zip(*table)]
        for line in table:
            print("| " + " | ".join(f"{x:{widths[i]}}" for i, x in enumerate(line)) + " |")
