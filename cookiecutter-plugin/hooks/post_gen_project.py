"""Keep only the files of the chosen kind: the template holds one example per kind."""

from pathlib import Path

KIND = "{{ cookiecutter.kind }}"
MODULE = "{{ cookiecutter.__module }}"

# kind -> (implementation module, test module); the others are removed.
FILES = {
    "policy": ("policy.py", "test_policy.py"),
    "backend": ("backend.py", "test_backend.py"),
    "provider": ("provider.py", "test_provider.py"),
    "audit-sink": ("sink.py", "test_audit_sink.py"),
}

root = Path.cwd()
for kind, (module, test) in FILES.items():
    if kind != KIND:
        (root / "src" / MODULE / module).unlink()
        (root / "tests" / test).unlink()
