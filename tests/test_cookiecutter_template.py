"""The plugin template, proven the way a third-party author meets it (simonw/llm-plugin's test):
render every kind, pip-install the packages, see ``kt plugins list`` find them, run their own test
suites, and drive a gateway that uses each of them with the openai client.

The rendered packages are installed with ``pip install --target`` into a temporary directory put on
the path, so nothing is left installed in the environment after the tests (other tests, run at the
same time or later, never load them).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import openai
import pytest

from keeptrust.builtins.scaffold import find_template
from keeptrust.testing import RunningGateway, openai_target, start_gateway

pytest.importorskip("cookiecutter", reason="the template tests need cookiecutter (pip install cookiecutter)")

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cookiecutter-plugin"
# kind -> plugin name; names no other plugin of the workspace uses.
PLUGINS = {"policy": "word-filter", "backend": "acme-hf", "provider": "acme-llm", "audit-sink": "audit-file"}
IMPLEMENTATION = {"policy": "policy.py", "backend": "backend.py", "provider": "provider.py", "audit-sink": "sink.py"}
# Gateways and subprocesses load only these entry points (plus the built-ins and keeptrust-hf, which
# the backend kind plugs into), so a sibling package that is broken at the moment cannot fail the
# template's tests.
HAS_HF = importlib.util.find_spec("keeptrust_hf") is not None
# Without keeptrust-hf the backend plugin's hook is unknown, which (rightly) stops start-up.
LOADED = [name for kind, name in PLUGINS.items() if HAS_HF or kind != "backend"]
ONLY_OURS = {"KEEPTRUST_LOAD_PLUGINS": ",".join([*LOADED, "hf"] if HAS_HF else LOADED)}
needs_hf = pytest.mark.skipif(not HAS_HF, reason="the backend kind plugs into keeptrust-hf, which is not installed")
Completed = subprocess.CompletedProcess[str]


def run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Completed:
    return subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False)


def kt(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Completed:
    return run([sys.executable, "-m", "keeptrust.cli", *args], env={**ONLY_OURS, **(env or {})}, cwd=cwd)


def pip_install(target: Path, *packages: Path) -> None:
    # Without build isolation pip needs no network when hatchling is already installed.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    done = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            *isolation,
            "--target",
            str(target),
            *map(str, packages),
        ]
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each kind rendered once: three with ``kt plugin new``, the audit sink with cookiecutter
    itself, as an author without keeptrust installed would."""
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("rendered")
    packages = {}
    for kind in ("policy", "backend", "provider"):
        done = kt(
            "plugin",
            "new",
            PLUGINS[kind].replace("-", " "),
            "--kind",
            kind,
            "--author",
            'Ada "the" Author',
            "--description",
            'Keeps "bad" things out \\o/',
            "-o",
            str(out),
        )
        assert done.returncode == 0, done.stderr
        packages[kind] = out / f"keeptrust-{PLUGINS[kind]}"
        assert f"created {packages[kind]}" in done.stdout
    made = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(out),
        extra_context={"plugin_name": "audit file", "kind": "audit-sink"},
    )
    packages["audit-sink"] = Path(made)
    return packages


@pytest.fixture(scope="module")
def site(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip_install(target, *rendered.values())  # one pip run for all of them: it is the slow part
    return target


@pytest.fixture
def on_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installed packages visible to this process (entry points included) for one test."""
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def gateway(on_path: Path) -> Iterator[Any]:
    started: list[RunningGateway] = []

    def start(config: dict[str, Any], environ: dict[str, str] | None = None) -> RunningGateway:
        started.append(start_gateway(config, environ={**ONLY_OURS, **(environ or {})}))
        return started[-1]

    yield start
    for gw in started:
        gw.stop()


def test_each_kind_renders_only_its_own_example(rendered: dict[str, Path]) -> None:
    for kind, path in rendered.items():
        module = path / "src" / f"keeptrust_{PLUGINS[kind].replace('-', '_')}"
        assert sorted(p.name for p in module.glob("*.py")) == sorted(["__init__.py", "plugin.py", IMPLEMENTATION[kind]])
        for needed in ("pyproject.toml", "README.md", ".github/workflows/test.yml", ".gitignore"):
            assert (path / needed).is_file(), needed
        assert len(list((path / "tests").glob("test_*.py"))) == 1
        pyproject = (path / "pyproject.toml").read_text()
        assert f'"{PLUGINS[kind]}" = "keeptrust_{PLUGINS[kind].replace("-", "_")}.plugin"' in pyproject
        assert "{{" not in (path / "README.md").read_text()


def test_the_declared_requirements_admit_what_is_installed(rendered: dict[str, Path]) -> None:
    """A package rendered today must install next to today's keeptrust (and keeptrust-hf)."""
    requirements = pytest.importorskip("packaging.requirements")
    toml = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    for path in rendered.values():
        project = toml.loads((path / "pyproject.toml").read_text())["project"]
        for line in project["dependencies"]:
            requirement = requirements.Requirement(line)
            try:
                installed = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                continue
            if installed != "0+unknown":
                assert requirement.specifier.contains(installed, prereleases=True), (path.name, line, installed)


def test_the_generated_package_supports_the_cores_pythons(rendered: dict[str, Path]) -> None:
    """requires-python, classifiers, the CI matrix and ruff's target all say keeptrust's Pythons."""
    import tomllib

    import yaml

    core = tomllib.loads((ROOT / "core" / "pyproject.toml").read_text())["project"]
    python = "Programming Language :: Python :: 3."
    versions = [c.rsplit(" ", 1)[1] for c in core["classifiers"] if c.startswith(python)]
    assert versions and core["requires-python"] == f">={versions[0]}"
    for path in rendered.values():
        pyproject = tomllib.loads((path / "pyproject.toml").read_text())
        project = pyproject["project"]
        assert project["requires-python"] == core["requires-python"], path.name
        assert [c for c in project["classifiers"] if c.startswith(python)] == [
            f"Programming Language :: Python :: {v}" for v in versions
        ]
        assert pyproject["tool"]["ruff"]["target-version"] == "py" + versions[0].replace(".", "")
        workflow = yaml.safe_load((path / ".github" / "workflows" / "test.yml").read_text())
        assert workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"] == versions, path.name


def test_rendered_packages_are_ruff_clean(rendered: dict[str, Path]) -> None:
    pytest.importorskip("ruff")
    for path in rendered.values():
        for args in (["check", "."], ["format", "--check", "."]):
            done = run([sys.executable, "-m", "ruff", *args], cwd=path)
            assert done.returncode == 0, f"{path.name}: ruff {' '.join(args)}\n{done.stdout}{done.stderr}"


def test_kt_plugins_list_shows_where_each_came_from(site: Path) -> None:
    done = kt("plugins", "list", "--json", env={"PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    # What the core registers for each kind (an HF backend registers with keeptrust-hf instead).
    registered = {
        "policy": {"policy": ["word-filter"]},
        "backend": {"hf backend": ["acme-hf"]},  # registered through keeptrust-hf's own hook
        "provider": {"provider": ["acme-llm"]},
        "audit-sink": {"audit sink": ["audit-file"]},
    }
    for kind, name in PLUGINS.items():
        if name not in LOADED:
            continue
        row = rows[name]
        assert row["distribution"] == f"keeptrust-{name}"
        assert row["version"] == "0.1.0"
        assert row["builtin"] is False
        assert Path(row["path"]).is_relative_to(site)
        assert row["registered"] == registered[kind]


@pytest.mark.parametrize("kind", [pytest.param(k, marks=needs_hf) if k == "backend" else k for k in PLUGINS])
def test_the_generated_test_suite_passes(kind: str, rendered: dict[str, Path], site: Path) -> None:
    done = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=rendered[kind],
        env={"PYTHONPATH": str(site)},
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_policy_plugin_end_to_end(fake_upstream: Any, gateway: Any) -> None:
    name = PLUGINS["policy"]
    gw = gateway(
        {
            "providers": {"targets": [openai_target(fake_upstream.url)]},
            "policies": {"chain": [name], "policy": {name: {"words": ["rutabaga"]}}},
        }
    )
    client = gw.client()
    answer = client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "You said: hi"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "a Rutabaga!"}])
    assert caught.value.body["code"] == "policy_violation"
    assert caught.value.body["param"] == name


@needs_hf
def test_backend_plugin_end_to_end(gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from keeptrust_hf.testing import TOKEN, TOKEN_ENV, FakeHF, fake_hf_environ, hf_target, serve_fake_hf

    name = PLUGINS["backend"]
    fake = FakeHF(token=TOKEN)
    fake.add_mapping("org/model", name, "acme/model-v1")
    with serve_fake_hf(fake) as server:
        for key, value in fake_hf_environ(server).items():
            monkeypatch.setenv(key, value)
        client = gateway({"providers": {"targets": [hf_target("hf")]}}, environ={TOKEN_ENV: TOKEN}).client()
        answer = client.chat.completions.create(model=f"org/model:{name}", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "You said: hi"
    assert fake.last.path == f"/{name}/v1/chat/completions"
    assert fake.last.json["model"] == "acme/model-v1"


def test_provider_plugin_end_to_end(fake_upstream: Any, gateway: Any) -> None:
    name = PLUGINS["provider"]
    target = {"id": "mine", "provider": name, "base_url": fake_upstream.url + "/v1", "model": "org/model"}
    client = gateway({"providers": {"targets": [target]}}).client()
    stream = client.chat.completions.create(model="mine", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "You said: hi"
    assert fake_upstream.app.last.body["model"] == "org/model"


def test_audit_sink_plugin_end_to_end(fake_upstream: Any, gateway: Any, tmp_path: Path) -> None:
    name = PLUGINS["audit-sink"]
    path = tmp_path / "audit.jsonl"
    gw = gateway(
        {
            "providers": {"targets": [openai_target(fake_upstream.url)]},
            "policies": {
                "chain": ["audit-logger"],
                "policy": {
                    "audit-logger": {
                        "destination": name,
                        "directory": str(tmp_path / "spool"),
                        "sink": {"path": str(path)},
                    }
                },
            },
        }
    )
    gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    gw.stop()  # shutdown drains the audit writer into the sink
    records = [json.loads(line) for line in path.read_text().splitlines()]
    requests = [r for r in records if r.get("endpoint") == "/v1/chat/completions"]
    assert len(requests) == 1
    assert requests[0]["model"] == "fake/model"


def test_kt_plugin_new_explains_what_is_wrong(tmp_path: Path) -> None:
    bad = kt("plugin", "new", "9 lives", "-o", str(tmp_path))
    assert bad.returncode != 0
    assert "must be words of letters and digits" in bad.stderr
    assert kt("plugin", "new", "twice", "-o", str(tmp_path)).returncode == 0
    again = kt("plugin", "new", "twice", "-o", str(tmp_path))
    assert again.returncode != 0
    assert "already exists" in again.stderr


def test_the_source_checkout_finds_the_template() -> None:
    found = find_template()
    assert found is not None
    assert found.resolve() == TEMPLATE.resolve()


def test_an_installed_wheel_carries_the_template(tmp_path: Path) -> None:
    """``kt plugin new`` must work from ``pip install keeptrust``, where no checkout is near."""
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            *isolation,
            "-w",
            str(tmp_path / "dist"),
            str(ROOT / "core"),
        ]
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("keeptrust-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert "keeptrust/plugin_template/cookiecutter.json" in zf.namelist()
    pip_install(tmp_path / "site", wheel)
    done = run(
        [
            sys.executable,
            "-m",
            "keeptrust.cli",
            "plugin",
            "new",
            "from wheel",
            "--kind",
            "audit-sink",
            "-o",
            str(tmp_path / "out"),
        ],
        env={**ONLY_OURS, "PYTHONPATH": str(tmp_path / "site")},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "keeptrust-from-wheel" / "src" / "keeptrust_from_wheel" / "sink.py").is_file()
