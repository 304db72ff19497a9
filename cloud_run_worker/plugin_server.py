"""The enrichment plugin: a long-lived gRPC server that hashicorp/go-plugin starts.

The Go host (package pool) starts this file with the project's venv interpreter and
talks to it over a unix socket. go-plugin's rules, which this module keeps:

- The handshake ``1|1|unix|<socket>|grpc`` is the first and only line on stdout, flushed.
  Afterwards fd 1 points at stderr, so a stray print can never corrupt the protocol.
- Logs are JSON lines on stderr with ``@level``, ``@message`` and ``@timestamp``, which
  go-plugin relays into the host's log at the right level.
- The gRPC health service answers for the service name ``plugin``; the host pings it.
- ``plugin.GRPCController/Shutdown`` stops the server at once. Without it every Kill()
  in the host waits two seconds before it falls back to SIGKILL.
- The socket lives in a private (0700) temporary folder that is removed on exit.
- The process exits when its parent dies, so a crashed host leaves no orphans (the
  host also asks the kernel for SIGKILL on its death; this is the portable half).
- The process ends with os._exit once it has cleaned up: a normal exit would join the
  gRPC executor's threads, and a call spinning in one of them would keep the process
  alive for ever.
- The socket folder's name carries our pid, so a host can tell a folder whose plugin
  died without cleaning up (SIGKILL) from one of a plugin that still runs.
- The magic cookie in the environment proves that go-plugin started us; run by hand,
  the file explains itself instead of waiting forever.
- stdin belongs to the host: nothing here reads it.

The enricher is chosen once, at start (enricher_choice.select_enricher), as ENRICH_ENRICHER
says. Describe and every response name it; Describe also says what bounds it ("cpu" or
"io") and how many calls the process holds at once, so the host sizes its concurrency.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures
from datetime import UTC, datetime

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

import enrich_pb2
import enrich_pb2_grpc
import fault_injection
from enricher_choice import LocalRulesEnricher, select_enricher, workload_of
from enrichment import CallLimits, Enricher, EnrichFailure

# These must match pyplugin.Handshake in the Go host.
MAGIC_COOKIE_KEY = "HH_ENRICH_PLUGIN"
MAGIC_COOKIE_VALUE = "hh-enrich-plugin-v1"
CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 1

# gRPC worker threads kept free of enrichment calls, for health pings and Describe.
RESERVED_THREADS = 1

# How often the parent watcher looks at our parent pid. A dead host is noticed within this.
PARENT_CHECK_SECONDS = 0.2
# The socket folder's prefix; the pid and a random part follow (pool/process.go sweeps
# folders whose pid is gone).
SOCKET_DIR_PREFIX = "hh-enrich-plugin-"
# How long in-flight calls may finish after Shutdown or SIGTERM.
STOP_GRACE_SECONDS = 2.0
# An enricher gives up this long before the host's deadline, so the host hears a typed
# timeout rather than its own deadline, which it takes for a hung process.
DEADLINE_MARGIN_SECONDS = 0.5
# The largest message accepted or sent, both ways (gRPC's default is 4 MiB, less
# than a batch of large candidates). Must match MaxMessageBytes in pyplugin/size.go.
MAX_MESSAGE_BYTES = 64 << 20
# The limits of every call to an enricher that does not read them (reads_call_limits is
# False): no deadline, never cancelled. Shared, so nothing may set it.
UNBOUNDED = CallLimits()

_LOGGER = logging.getLogger("hh_enrich_plugin")


class JSONLogFormatter(logging.Formatter):
    """Formats records the way go-plugin's hclog parser expects them on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "@level": _HCLOG_LEVELS.get(record.levelno, "info"),
            "@message": record.getMessage(),
            "@timestamp": datetime.fromtimestamp(record.created, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "@module": record.name,
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_HCLOG_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(python_log_level(os.environ.get("LOG_LEVEL", "info")))
    # Once the host is gone, stderr is a pipe nobody reads: a log line must fail
    # quietly, never end the thread that writes it (the parent watcher, say).
    logging.raiseExceptions = False
    # urllib3 logs every request and new connection at DEBUG: one line per LLM call is
    # noise, not news; the Together enricher logs what matters itself.
    logging.getLogger("urllib3").setLevel(max(root.level, logging.WARNING))


def python_log_level(name: str) -> int:
    """The Python level for the service's LOG_LEVEL (go-hclog's names: trace, debug,
    info, warn, error, off). An unknown name means info: a log setting must never
    stop the plugin from starting."""
    levels = {
        "trace": logging.DEBUG,
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warn": logging.WARNING,
        "warning": logging.WARNING,
        "error": logging.ERROR,
        "off": logging.CRITICAL + 10,
    }
    return levels.get(name.strip().lower(), logging.INFO)


# The gRPC code sent with each reason. The host reads the EnrichError detail, not
# the code; the code only keeps generic gRPC tooling honest.
_GRPC_CODES = {
    enrich_pb2.REASON_INVALID_CANDIDATE: code_pb2.INVALID_ARGUMENT,
    enrich_pb2.REASON_UPSTREAM_RATE_LIMITED: code_pb2.RESOURCE_EXHAUSTED,
    enrich_pb2.REASON_UPSTREAM_UNAVAILABLE: code_pb2.UNAVAILABLE,
    enrich_pb2.REASON_UPSTREAM_BAD_OUTPUT: code_pb2.UNKNOWN,
    enrich_pb2.REASON_TIMEOUT: code_pb2.DEADLINE_EXCEEDED,
    enrich_pb2.REASON_INTERNAL: code_pb2.INTERNAL,
    enrich_pb2.REASON_UPSTREAM_REJECTED_INPUT: code_pb2.INVALID_ARGUMENT,
}


class EnricherServicer(enrich_pb2_grpc.EnricherServicer):
    """Serves Enrich, EnrichBatch and Describe with the enricher chosen at start.

    One instance lives as long as the process, so the counters in Describe cover the
    whole life of the process, which is what the host's pool wants to see.
    """

    def __init__(self, enricher: Enricher, max_concurrency: int = 1) -> None:
        self._enricher = enricher
        self._lock = threading.Lock()
        self._jobs_served = 0
        self._faults = fault_injection.enabled()
        self._workload = workload_of(enricher)
        # An enricher that never waits on an upstream cannot act on a cancellation or a
        # deadline mid-enrich: its calls skip that plumbing (see _limits_for).
        self._reads_limits = getattr(enricher, "reads_call_limits", True)
        self._max_concurrency = max(1, max_concurrency)
        # An I/O-bound enricher's batch items wait on the network side by side; the rules
        # would only take turns on the interpreter, so they stay in the calling thread.
        self._batch_threads = (
            futures.ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="batch-item")
            if self._workload == "io"
            else None
        )

    def Enrich(self, request, context):
        try:
            response = self._enrich_one(request, self._limits_for(context))
        except EnrichFailure as failure:
            context.abort_with_status(_status_for(failure))
        self._count_served(1)
        return response

    def EnrichBatch(self, request, context):
        # One set of limits for the whole batch: once the host cancels or the deadline
        # nears, the remaining items fail fast instead of calling the provider.
        limits = self._limits_for(context)

        def one(item: enrich_pb2.EnrichRequest) -> enrich_pb2.EnrichBatchResult:
            try:
                return enrich_pb2.EnrichBatchResult(response=self._enrich_one(item, limits))
            except EnrichFailure as failure:
                return enrich_pb2.EnrichBatchResult(error=failure.to_proto())

        if self._batch_threads is None:
            results = [one(item) for item in request.items]
        else:
            results = list(self._batch_threads.map(one, request.items))
        self._count_served(sum(result.HasField("response") for result in results))
        return enrich_pb2.EnrichBatchResponse(results=results)

    def Describe(self, request, context):
        with self._lock:
            served = self._jobs_served
        return enrich_pb2.DescribeResponse(
            model_version=self._enricher.model_version,
            prompt_version=self._enricher.prompt_version,
            enricher=self._enricher.name,
            pid=os.getpid(),
            rss_bytes=resident_memory_bytes(),
            jobs_served=served,
            call_limit_ms=int(self._enricher.call_limit_seconds * 1000),
            workload=self._workload,
            max_concurrency=self._max_concurrency,
        )

    def _limits_for(self, context: grpc.ServicerContext) -> CallLimits:
        """The call's deadline and cancellation, for an enricher that reads them. The rules
        never do (no I/O, nothing to stop mid-enrich), so their calls share UNBOUNDED and
        skip time_remaining, add_callback and a new Event per call."""
        return _call_limits(context) if self._reads_limits else UNBOUNDED

    def _count_served(self, jobs: int) -> None:
        # Once per call, not per item: a batch takes the lock once.
        if jobs:
            with self._lock:
                self._jobs_served += jobs

    def _enrich_one(
        self, request: enrich_pb2.EnrichRequest, limits: CallLimits
    ) -> enrich_pb2.EnrichResponse:
        """Runs the enricher on one request. The only place where failures become the
        contract's: enrichers raise EnrichFailure for what they understand; anything else
        is a bug, reported as internal while the process keeps serving."""
        started = time.perf_counter()
        candidate = _decode_candidate(request.candidate_json)
        try:
            if self._faults:
                fault_injection.apply(candidate)
            enrichment = self._enricher.enrich(candidate, limits)
        except EnrichFailure:
            raise
        except Exception as exc:
            _LOGGER.exception("enricher failed", extra={"fields": {"job_id": request.job_id}})
            raise EnrichFailure(
                enrich_pb2.REASON_INTERNAL, f"enricher failed: {exc}", False
            ) from exc
        response = enrich_pb2.EnrichResponse(
            enrichment_json=json.dumps(enrichment.result, separators=(",", ":")).encode(),
            model_version=self._enricher.model_version,
            prompt_version=self._enricher.prompt_version,
            enricher=self._enricher.name,
            processing_seconds=time.perf_counter() - started,
            provider_pause_ms=math.ceil(enrichment.provider_pause_seconds * 1000),
        )
        if enrichment.token_usage is not None:
            response.token_usage.CopyFrom(enrichment.token_usage.to_proto())
        return response


def _call_limits(context: grpc.ServicerContext) -> CallLimits:
    """The call's cancellation and deadline, for enrichers that wait on an upstream.

    add_callback fires when the RPC ends for any reason; until the enricher returns, that
    can only be a cancellation (or the host's deadline passing).
    """
    remaining = context.time_remaining()
    deadline = None if remaining is None else time.monotonic() + remaining - DEADLINE_MARGIN_SECONDS
    limits = CallLimits(deadline=deadline)
    if not context.add_callback(limits.cancelled.set):
        limits.cancelled.set()  # the RPC has already ended
    return limits


def _decode_candidate(raw: bytes) -> dict:
    try:
        candidate = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnrichFailure(
            enrich_pb2.REASON_INVALID_CANDIDATE, f"candidate is not valid JSON: {exc}", False
        ) from exc
    if not isinstance(candidate, dict):
        raise EnrichFailure(
            enrich_pb2.REASON_INVALID_CANDIDATE, "candidate must be a JSON object", False
        )
    # json reads "\ud800" alone as a str that cannot be encoded: whatever encodes it
    # later (the LLM request, the answer) would raise, on every process it reached.
    if _SURROGATE_ESCAPE_RE.search(raw):
        try:
            json.dumps(candidate, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise EnrichFailure(
                enrich_pb2.REASON_INVALID_CANDIDATE,
                "candidate holds half a UTF-16 surrogate pair (a lone \\ud800-\\udfff escape)",
                False,
            ) from exc
    return candidate


_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")


def _status_for(failure: EnrichFailure) -> grpc.Status:
    detail = any_pb2.Any()
    detail.Pack(failure.to_proto())
    return rpc_status.to_status(
        status_pb2.Status(
            code=_GRPC_CODES.get(failure.reason, code_pb2.UNKNOWN),
            message=failure.message,
            details=[detail],
        )
    )


def resident_memory_bytes() -> int:
    """Current resident set size; falls back to the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ControllerServicer:
    """plugin.GRPCController: the host's way to ask for a clean exit.

    Shutdown only sets an Event; the main thread stops the server, so the reply to
    this very call still gets out.
    """

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def shutdown(self, _request: bytes, _context) -> bytes:
        _LOGGER.debug("shutdown requested by host")
        self._stop.set()
        return b""  # plugin.Empty has no fields, so its encoding is empty


def _controller_handler(stop: threading.Event) -> grpc.GenericRpcHandler:
    # plugin.Empty has no fields: identity (de)serialisers spare us generated stubs
    # for go-plugin's internal proto.
    servicer = ControllerServicer(stop)
    return grpc.method_handlers_generic_handler(
        "plugin.GRPCController",
        {
            "Shutdown": grpc.unary_unary_rpc_method_handler(
                servicer.shutdown,
                request_deserializer=lambda data: data,
                response_serializer=lambda data: data,
            )
        },
    )


def create_server(
    address: str,
    stop: threading.Event,
    max_workers: int = 4,
    enricher: Enricher | None = None,
) -> grpc.Server:
    """Builds the server on ``address`` (``unix:/path`` or ``127.0.0.1:0`` in tests), with
    the local rules enricher unless another is given."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    capacity = max(1, max_workers - RESERVED_THREADS)
    servicer = EnricherServicer(enricher or LocalRulesEnricher(), capacity)
    enrich_pb2_grpc.add_EnricherServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_servicer.set("plugin", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_generic_rpc_handlers((_controller_handler(stop),))
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    return server


def watch_parent(
    stop: threading.Event, orphaned: threading.Event, parent_pid: int
) -> threading.Thread:
    """Sets ``orphaned`` and ``stop`` when our parent goes away (we get re-parented)."""

    def run() -> None:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent_pid:
                # Before the log line: stderr is a pipe to the dead host now.
                orphaned.set()
                stop.set()
                _LOGGER.warning("host process is gone; exiting")

    thread = threading.Thread(target=run, name="parent-watch", daemon=True)
    thread.start()
    return thread


def check_magic_cookie() -> bool:
    return os.environ.get(MAGIC_COOKIE_KEY) == MAGIC_COOKIE_VALUE


def write_handshake(socket_path: str) -> None:
    """Writes the handshake line, then points fd 1 at stderr for good."""
    line = f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{socket_path}|grpc\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr


def main() -> int:
    configure_logging()
    if not check_magic_cookie():
        sys.stderr.write(
            "This is the hh-enrich-svc enrichment plugin. It is started by the service "
            "(package pool), not by hand.\n"
        )
        return 1
    try:
        enricher = select_enricher(os.environ)
    except ValueError as exc:  # a malformed TOGETHER_* setting; the message names it
        _LOGGER.error("cannot configure the enricher", extra={"fields": {"error": str(exc)}})
        return 1
    stop, orphaned = threading.Event(), threading.Event()
    # go-plugin hosts handle Ctrl-C themselves and drain through us: ignore SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    # mkdtemp creates the folder with mode 0700: only we (and the host, same user) get in.
    socket_dir = tempfile.mkdtemp(
        prefix=f"{SOCKET_DIR_PREFIX}{os.getpid()}-", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR")
    )
    socket_path = os.path.join(socket_dir, "plugin.sock")
    try:
        # The host sizes the threads to the calls it may send at once, plus RESERVED_THREADS.
        workers = int(os.environ.get("ENRICH_PLUGIN_THREADS", "4"))
        server = create_server(
            f"unix:{socket_path}", stop, max_workers=max(1, workers), enricher=enricher
        )
        server.start()
        watch_parent(stop, orphaned, os.getppid())
        write_handshake(socket_path)
        fields = {"pid": os.getpid(), "socket": socket_path, **enricher.log_fields()}
        _LOGGER.info("plugin serving", extra={"fields": fields})
        stop.wait()
        if orphaned.is_set():
            # Nobody reads the answers any more: no grace, and no wait for handlers
            # (one spinning would never return; exit_hard ends its thread).
            server.stop(0)
        else:
            server.stop(STOP_GRACE_SECONDS).wait(STOP_GRACE_SECONDS)
    finally:
        enricher.close()
        shutil.rmtree(socket_dir, ignore_errors=True)
    _LOGGER.info("plugin stopped", extra={"fields": {"pid": os.getpid()}})
    return 0


def run_and_exit_hard() -> None:
    """Runs main, then ends the process at once, threads and all, whatever happened.
    sys.exit would wait for the executor's threads, and one spinning on a call would
    never end; main has already cleaned up."""
    code = 1
    try:
        code = main()
    finally:
        try:
            logging.shutdown()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr is a pipe to a dead host
        os._exit(code)


if __name__ == "__main__":
    run_and_exit_hard()
