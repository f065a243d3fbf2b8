"""Speed and memory figures (`make bench`), each measured side by side in one run and written
to docs/benchmarks.md; `make test` runs them once, quickly (`--quick`, benchmarks/conftest.py).

Cold starts are CPU time, compared with bare handlers measured interleaved with them, so the
checks hold on a loaded machine: no figure is compared with a number of milliseconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from benchmarks.report import BARE_BOTO3, BARE_POWERTOOLS, NOT_MEASURED, Report, Sample
from devtools.local_stack.seeding import DEMO_ACCOUNTS, DEMO_PASSWORD
from phoneverify.domain.models import FlowKind
from phoneverify.domain.send_limits import SendCaps
from tests.support import cold_start
from tests.support.builders import ORIGIN, PASSWORD, PHONE, login_world
from tests.support.stacks import running_stack

ROOT = Path(__file__).resolve().parents[1]
BUILT_LAYER = ROOT / ".aws-sam" / "build" / "CommonLayer"  # `make build`, for arm64
LAYER_LIMIT_BYTES = 20 * 1000 * 1000
# Init CPU of every handler against the bare Powertools + pydantic one (the least of each over
# the interleaved rounds: benchmarks/report.py). The quick mode has one sample of each, which
# a busy machine can skew: it checks only gross regressions.
MAX_INIT_RATIO = 1.25
MAX_INIT_RATIO_QUICK = 2.0


@pytest.fixture(scope="session")
def views(quick: bool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Paths of the measured interpreters: the layer, the runtime's boto3, and each function's
    own dependencies. Full: the layer as its Makefile builds it; quick: the dev venv's."""
    base = tmp_path_factory.mktemp("lambda")
    found = {"runtime": cold_start.runtime_view(base / "runtime")}
    for function in cold_start.function_names():
        own = base / "own" / function
        found[function] = (
            cold_start.function_view(function, own)
            if quick
            else cold_start.build_function_requirements(function, own)
        )
    found["layer"] = (
        cold_start.layered_view(base / "layer") if quick else cold_start.build_layer(base / "built")
    )
    return found


def test_the_layer_is_small(views: dict[str, Path], quick: bool, report: Report) -> None:
    if quick:
        pytest.skip("the quick mode builds no layer (tests/integration/test_sam_build.py does)")
    shipped = BUILT_LAYER / "python"
    if shipped.is_dir():
        report.layer_bytes = cold_start.tree_bytes(shipped)
        report.layer_note = "`make build`, arm64, as deployed"
    else:
        report.layer_bytes = cold_start.tree_bytes(views["layer"])
        report.layer_note = f"layers/common/Makefile for {cold_start.host_platform()}"
    assert report.layer_bytes <= LAYER_LIMIT_BYTES


@pytest.fixture(scope="session")
def cold_starts(
    views: dict[str, Path], quick: bool, report: Report, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, cold_start.ColdStart]:
    """Every handler's cold start, and the bare handlers', `rounds` times; the last of each."""
    workdir = tmp_path_factory.mktemp("bare")
    functions = cold_start.function_names()
    samples = {name: Sample() for name in (BARE_BOTO3, BARE_POWERTOOLS, *functions)}
    report.rounds = 1 if quick else 5
    last: dict[str, cold_start.ColdStart] = {}

    def measure(name: str, first_request: bool) -> cold_start.ColdStart:
        if name in cold_start.BARE_HANDLERS:
            return cold_start.bare_cold_start(name, workdir, views["layer"], views["runtime"])
        return cold_start.function_cold_start(
            name, views["layer"], views["runtime"], views[name], first_request=first_request
        )

    # Interleaved: each round measures every handler once, so a busy spell hits all alike;
    # one interpreter at a time (two at once on two cores skew each other's CPU time).
    # The last round also builds what the first request builds (its CPU, its modules).
    for round_ in range(report.rounds):
        last_round = round_ == report.rounds - 1
        for name, sample in samples.items():
            measured = measure(name, last_round)
            sample.cpu_ms.append(measured.init_cpu_ms)
            if last_round:  # peak memory after the first request's builders, too
                sample.rss_mb.append(measured.max_rss_mb)
                if name not in cold_start.BARE_HANDLERS:
                    sample.first_request_cpu_ms.append(measured.cpu_ms)
            sample.modules = len(measured.init_modules)
            last[name] = measured
    report.cold_starts = samples
    return last


def test_cold_starts_are_near_a_bare_handler(
    cold_starts: dict[str, cold_start.ColdStart], quick: bool, report: Report
) -> None:
    limit = MAX_INIT_RATIO_QUICK if quick else MAX_INIT_RATIO
    ratios = {name: report.ratio(name, BARE_POWERTOOLS) for name in cold_start.function_names()}
    slow = {name: round(ratio, 2) for name, ratio in ratios.items() if ratio > limit}
    assert not slow, f"init CPU above {limit}x the bare Powertools handler: {slow}"


# -- each function loads only what it uses (sys.modules of the measured interpreters) --------
# Loaded by the builders of the functions that use them, never by a handler's import.
BUILDER_LIBRARIES = (
    "bcrypt",  # passwords
    "httpx",  # the Telnyx client
    "aws_xray_sdk.ext.httpx",  # its calls traced: patched when a Telnyx client is built
    "jwt",  # access tokens
    "cryptography",  # webhook signatures
    "aws_lambda_powertools.utilities.idempotency",  # Idempotency-Key
    "aws_lambda_powertools.event_handler.openapi.models",  # the OpenAPI document only
    "phonenumbers",  # phone policies (settings check regions against domain/regions.py)
)
IDEMPOTENCY = "aws_lambda_powertools.utilities.idempotency"
FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"
# The functions that ship the `webauthn` library carry its dependency pyOpenSSL, and botocore
# imports urllib3's pyOpenSSL support whenever it is installed (botocore/httpsession.py), which
# brings cryptography and, through its SSH keys module, bcrypt: at every cold start of those
# functions, whatever our code does. Known and bounded by the init-CPU benchmark above; the
# rest of the rule still holds for them.
PYOPENSSL_BRINGS = ("cryptography", "bcrypt")


def carries_webauthn(function: str) -> bool:
    requirements = FUNCTIONS / function / "requirements.txt"
    return requirements.is_file() and "webauthn" in requirements.read_text()


@pytest.mark.parametrize("function", cold_start.function_names())
def test_a_cold_start_loads_no_library_a_builder_brings(
    function: str, cold_starts: dict[str, cold_start.ColdStart]
) -> None:
    measured = cold_starts[function]
    exempt = PYOPENSSL_BRINGS if carries_webauthn(function) else ()
    early = [
        lib for lib in BUILDER_LIBRARIES if lib not in exempt and measured.loaded(lib, at_init=True)
    ]
    assert not early, f"{function} imports {early} before any request needs them"


def test_the_authorizer_checks_tokens_with_pyjwt_alone(
    cold_starts: dict[str, cold_start.ColdStart],
) -> None:
    authorizer = cold_starts["authorizer"]
    assert authorizer.loaded("jwt")
    # cryptography: PyJWT's RSA and EC algorithms; HS256 needs none of it
    for unused in ("bcrypt", "httpx", "phonenumbers", "cryptography", IDEMPOTENCY):
        assert not authorizer.loaded(unused), unused


def test_only_the_webhook_function_loads_cryptography(
    cold_starts: dict[str, cold_start.ColdStart],
) -> None:
    functions = [name for name in cold_start.function_names() if not carries_webauthn(name)]
    assert [name for name in functions if cold_starts[name].loaded("cryptography")] == [
        "webhook_telnyx"
    ]


def test_no_function_loads_the_websocket_push_before_its_first_push(
    cold_starts: dict[str, cold_start.ColdStart],
) -> None:
    # A push is news about a flow someone watches: the code checks and resends that may end
    # a flow as superseded, the cancel and the webhook build it at their first push only.
    functions = cold_start.function_names()
    assert [n for n in functions if cold_starts[n].loaded("phoneverify.adapters.websocket")] == []


@pytest.mark.parametrize("function", ["logout", "verify_status", "webhook_telnyx"])
def test_functions_that_send_no_code_load_neither_bcrypt_nor_httpx(
    function: str, cold_starts: dict[str, cold_start.ColdStart]
) -> None:
    assert not cold_starts[function].loaded("bcrypt")
    assert not cold_starts[function].loaded("httpx")


def test_reading_a_payment_loads_no_idempotency(
    cold_starts: dict[str, cold_start.ColdStart],
) -> None:
    assert not cold_starts["verify_status"].loaded(IDEMPOTENCY)
    assert cold_starts["payments_initiate"].loaded(IDEMPOTENCY)


def measured_round_trips() -> dict[str, dict[str, int]] | None:
    """DynamoDB, SSM and Telnyx calls per endpoint, from tests/support/round_trips.py when it
    is there (`round_trips_per_endpoint()`); None until then."""
    try:
        from tests.support.round_trips import round_trips_per_endpoint  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    figures: dict[str, dict[str, int]] = round_trips_per_endpoint()
    return figures


def test_round_trips_per_endpoint(report: Report) -> None:
    report.round_trips = measured_round_trips()
    if report.round_trips is None:
        report.round_trips_note = f"{NOT_MEASURED} (tests/support/round_trips.py is not here)"
        pytest.skip(report.round_trips_note)
    # Every endpoint makes some call (GET /challenge only SSM's, for its signing key).
    assert all(sum(calls.values()) >= 1 for calls in report.round_trips.values())


def test_local_stack_login_then_verify(quick: bool, report: Report) -> None:
    demo = next(account for account in DEMO_ACCOUNTS if account.phone_number)
    assert demo.phone_number is not None
    with running_stack(None) as stack, httpx.Client(base_url=stack.api_url, timeout=60) as api:
        assert stack.emulator is not None
        # The first pass loads each handler in the gateway (its cold start, measured above)
        for measured in [False] + [True] * (1 if quick else 5):
            started = time.perf_counter()
            login = api.post("/login", json={"email": demo.email, "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            code = stack.emulator.latest_code(demo.phone_number)
            verify = api.post(
                "/login/verify", json={"flow_id": login.json()["flow_id"], "code": code}
            )
            assert verify.status_code == 200, verify.text
            if measured:
                report.login_verify_ms.append((time.perf_counter() - started) * 1000)


def test_code_check_hot_path(benchmark, report: Report) -> None:  # type: ignore[no-untyped-def]
    # The flow's own work per verification (fakes for I/O): far below network latency.
    def one_login() -> None:
        world = login_world()
        started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
        flow_id = started.challenge.flow_id  # type: ignore[union-attr]
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)

    benchmark(one_login)
    if benchmark.stats is not None:  # None in the quick mode: it ran once, untimed
        report.hot_path["login then verify, bcrypt cost 4"] = benchmark.stats["mean"] * 1000
        assert benchmark.stats["mean"] < 0.2  # bcrypt (cost 4 here) dominates


def test_challenge_open_and_check_without_bcrypt(benchmark, report: Report) -> None:  # type: ignore[no-untyped-def]
    world = login_world()
    # As many rounds as the benchmark likes: no hourly cap may stop them...
    unlimited = 10**9
    world.limits.caps = SendCaps(unlimited, unlimited, unlimited, unlimited, 3_600)
    challenges = world.challenges(FlowKind.LOGIN)

    def open_and_check() -> None:
        opened = challenges.open("u-1", PHONE, ORIGIN)
        challenges.check(opened.flow_id, world.sender.last_code(PHONE), ORIGIN)
        # ...and each round starts in the next window of every cap, as hours apart would.
        world.clock.advance(3_600)

    benchmark(open_and_check)
    if benchmark.stats is not None:
        report.hot_path["open a challenge and check its code"] = benchmark.stats["mean"] * 1000
        assert benchmark.stats["mean"] < 0.005
