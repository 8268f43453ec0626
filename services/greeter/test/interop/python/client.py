"""grpcio client that calls every RPC of lattice.greeter.v1.GreeterService, plus the standard health service,
and checks the answers. It is the Python half of the greeter interop tests; the Go client in ../go does the same
checks.

It prints one JSON line per check, {"check":"<name>","ok":true|false,"detail":"..."}, and exits 0 only when
every check passed (1 when one failed, 2 on bad arguments).

Run it with the interpreter of the virtual environment that ../build.sh makes, which also generates the greeter
stubs this file imports:

    .cache/interop/venv/bin/python services/greeter/test/interop/python/client.py --target 127.0.0.1:50051
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
from pathlib import Path
from typing import Callable, Iterator

# <repo>/services/greeter/test/interop/python/client.py -> <repo>
REPO_ROOT = Path(__file__).resolve().parents[5]
GENERATED = REPO_ROOT / ".cache" / "interop" / "python-gen"

if not (GENERATED / "lattice" / "greeter" / "v1" / "greeter_pb2.py").is_file():
    sys.exit(f"client.py: no generated stubs in {GENERATED}: run services/greeter/test/interop/build.sh first")
sys.path.insert(0, str(GENERATED))

import grpc  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_status import rpc_status  # noqa: E402
from lattice.greeter.v1 import greeter_pb2, greeter_pb2_grpc  # noqa: E402

CALL_TIMEOUT_S = 10.0
GREETER_SERVICE_NAME = "lattice.greeter.v1.GreeterService"

L = greeter_pb2.Language


class CheckFailed(Exception):
    pass


class Expect:
    """Collects the mismatches of one check."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def equal(self, what: str, got: object, want: object) -> None:
        if got != want:
            self.problems.append(f"{what}: got {got!r}, want {want!r}")

    def done(self, detail: str) -> str:
        if self.problems:
            raise CheckFailed("; ".join(self.problems))
        return detail


def language_name(value: int) -> str:
    try:
        return L.Name(value)
    except ValueError:
        return str(value)


def describe(err: grpc.RpcError) -> str:
    return f"{err.code().name}: {err.details()}"


def check_greet(greeter: greeter_pb2_grpc.GreeterServiceStub, _health) -> str:
    expect = Expect()
    got = []
    for language, message in ((L.LANGUAGE_ENGLISH, "Hello, Ada!"), (L.LANGUAGE_FRENCH, "Bonjour, Ada !")):
        what = f"Greet(Ada, {language_name(language)})"
        try:
            resp = greeter.Greet(greeter_pb2.GreetRequest(name="Ada", language=language), timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as err:
            raise CheckFailed(f"{what} failed: {describe(err)}") from err
        expect.equal(f"{what}.message", resp.message, message)
        expect.equal(f"{what}.language", language_name(resp.language), language_name(language))
        got.append(resp.message)
    return expect.done(" | ".join(got))


def check_greet_invalid_argument(greeter: greeter_pb2_grpc.GreeterServiceStub, _health) -> str:
    try:
        greeter.Greet(greeter_pb2.GreetRequest(name=""), timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as err:
        if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise CheckFailed(f"status {describe(err)}, want INVALID_ARGUMENT") from err
        try:
            status = rpc_status.from_call(err)
        except ValueError as bad:  # the trailer disagrees with the status code or message
            raise CheckFailed(f"grpc-status-details-bin is inconsistent: {bad}") from err
        if status is None:
            raise CheckFailed(f"INVALID_ARGUMENT {err.details()!r} carries no grpc-status-details-bin trailer")
        fields = []
        for detail in status.details:
            if not detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                continue
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                if violation.field == "name":
                    return (
                        f"INVALID_ARGUMENT {status.message!r}, "
                        f"BadRequest violation on name: {violation.description!r}"
                    )
                fields.append(violation.field)
        if not fields:
            raise CheckFailed(
                f"INVALID_ARGUMENT {status.message!r} carries no google.rpc.BadRequest field violation "
                f"({len(status.details)} details)"
            )
        raise CheckFailed(f"google.rpc.BadRequest has no violation on name, only on {fields}")
    raise CheckFailed("Greet with an empty name succeeded, want INVALID_ARGUMENT")


def check_list_greetings(greeter: greeter_pb2_grpc.GreeterServiceStub, _health) -> str:
    want = [
        (L.LANGUAGE_ENGLISH, "Hello, Ada!"),
        (L.LANGUAGE_FRENCH, "Bonjour, Ada !"),
        (L.LANGUAGE_SPANISH, "¡Hola, Ada!"),
        (L.LANGUAGE_GERMAN, "Hallo, Ada!"),
        (L.LANGUAGE_JAPANESE, "こんにちは、Adaさん！"),
    ]
    got = []
    try:
        for resp in greeter.ListGreetings(
            greeter_pb2.ListGreetingsRequest(name="Ada", count=len(want)), timeout=CALL_TIMEOUT_S
        ):
            got.append(resp)
    except grpc.RpcError as err:
        raise CheckFailed(f"ListGreetings failed after {len(got)} messages: {describe(err)}") from err
    expect = Expect()
    expect.equal("message count", len(got), len(want))
    for i, (resp, (language, message)) in enumerate(zip(got, want), start=1):
        expect.equal(f"message {i} sequence", resp.sequence, i)
        expect.equal(f"message {i} language", language_name(resp.language), language_name(language))
        expect.equal(f"message {i} text", resp.message, message)
    last = got[-1].message if got else ""
    return expect.done(f"{len(got)} greetings, the last {last!r}")


def check_record_greetings(greeter: greeter_pb2_grpc.GreeterServiceStub, _health) -> str:
    names = ["Ada", "Grace", "Ada", "Linus"]
    try:
        resp = greeter.RecordGreetings(
            (greeter_pb2.RecordGreetingsRequest(name=name) for name in names), timeout=CALL_TIMEOUT_S
        )
    except grpc.RpcError as err:
        raise CheckFailed(f"RecordGreetings failed: {describe(err)}") from err
    expect = Expect()
    expect.equal("count", resp.count, 4)
    expect.equal("distinct_count", resp.distinct_count, 3)
    expect.equal("message", resp.message, "Hello, Ada, Grace and Linus!")
    return expect.done(f"count {resp.count}, distinct {resp.distinct_count}, {resp.message!r}")


_HALF_CLOSE = object()


def _requests(outbox: queue.Queue) -> Iterator[greeter_pb2.ChatGreetingsRequest]:
    """Yields what the check puts in outbox, one at a time, and half-closes on _HALF_CLOSE."""
    while True:
        item = outbox.get()
        if item is _HALF_CLOSE:
            return
        yield item


def check_chat_greetings(greeter: greeter_pb2_grpc.GreeterServiceStub, _health) -> str:
    turns = [
        (greeter_pb2.ChatGreetingsRequest(name="Ada", language=L.LANGUAGE_FRENCH), "Bonjour, Ada !", L.LANGUAGE_FRENCH),
        (greeter_pb2.ChatGreetingsRequest(name="Grace"), "Hello, Grace!", L.LANGUAGE_ENGLISH),
    ]
    outbox: queue.Queue = queue.Queue()
    call = greeter.ChatGreetings(_requests(outbox), timeout=CALL_TIMEOUT_S)
    expect = Expect()
    got = []
    try:
        for i, (request, message, language) in enumerate(turns, start=1):
            # Each reply must come back while the stream is still open for sending.
            outbox.put(request)
            try:
                resp = next(call)
            except StopIteration:
                raise CheckFailed(f"stream ended with {call.code().name} before the reply to {request.name!r}")
            except grpc.RpcError as err:
                raise CheckFailed(f"waiting for the reply to {request.name!r}: {describe(err)}") from err
            expect.equal(f"reply {i} message", resp.message, message)
            expect.equal(f"reply {i} language", language_name(resp.language), language_name(language))
            got.append(resp.message)
        outbox.put(_HALF_CLOSE)
        extra = 0
        try:
            for _ in call:
                extra += 1
        except grpc.RpcError as err:
            raise CheckFailed(f"stream did not end with OK after the half-close: {describe(err)}") from err
        if call.code() != grpc.StatusCode.OK:
            raise CheckFailed(f"stream ended with {call.code().name}, want OK")
        if extra:
            expect.problems.append(f"{extra} unexpected replies after the half-close")
    finally:
        # Unblocks the request iterator and ends the call if a step above failed; a no-op after a clean end.
        outbox.put(_HALF_CLOSE)
        call.cancel()
    return expect.done(" | ".join(got) + ", then OK")


def check_health(_greeter, health: health_pb2_grpc.HealthStub) -> str:
    expect = Expect()
    got = []
    for service in ("", GREETER_SERVICE_NAME):
        try:
            resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as err:
            raise CheckFailed(f"Health/Check({service!r}) failed: {describe(err)}") from err
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
        expect.equal(f"Health/Check({service!r})", status, "SERVING")
        got.append(f"{service!r}: {status}")
    return expect.done(", ".join(got))


CHECKS: list[tuple[str, Callable]] = [
    ("greet", check_greet),
    ("greet_invalid_argument", check_greet_invalid_argument),
    ("list_greetings", check_list_greetings),
    ("record_greetings", check_record_greetings),
    ("chat_greetings", check_chat_greetings),
    ("health", check_health),
]


def main() -> int:
    parser = argparse.ArgumentParser(description="Greeter interop checks (grpcio client).")
    parser.add_argument("--target", required=True, help="host:port of the greeter server")
    args = parser.parse_args()
    # The details hold non-ASCII greetings: write UTF-8 whatever the locale says.
    sys.stdout.reconfigure(encoding="utf-8")

    all_ok = True
    with grpc.insecure_channel(args.target) as channel:
        greeter = greeter_pb2_grpc.GreeterServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        for name, run in CHECKS:
            try:
                result = {"check": name, "ok": True, "detail": run(greeter, health)}
            except CheckFailed as failed:
                result = {"check": name, "ok": False, "detail": str(failed)}
            except Exception as unexpected:  # a bug or a broken answer: report it as this check's failure
                result = {"check": name, "ok": False, "detail": f"{type(unexpected).__name__}: {unexpected}"}
            all_ok = all_ok and result["ok"]
            print(json.dumps(result, ensure_ascii=False, separators=(",", ":")), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
