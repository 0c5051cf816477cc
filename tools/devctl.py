#!/usr/bin/env python3
"""The one entry point behind `make run` and `make test`.

It must work on a fresh machine with nothing but Python 3.10+ and an Odoo 19.0
source tree at $ODOO_PATH, so the first stage uses the standard library only:
it builds `.venv` and re-executes itself inside it. The second stage finds
PostgreSQL (environment, then a local server, then an embedded one), writes the
Odoo configuration under `.build/` and runs Odoo or the test suite.
"""

import argparse
import getpass
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
ODOO_PATH = Path(os.environ.get("ODOO_PATH", "/opt/odoo")).resolve()
MODULE = "channel_connector"
RUN_DATABASE = os.environ.get("CHANNEL_DB", MODULE)
TEST_DATABASE = os.environ.get("CHANNEL_TEST_DB", "channel_connector_test")
# One template family per test database: parallel checkouts keep their own.
TEMPLATE_PREFIX = f"{TEST_DATABASE}_tpl_"
RUN_HTTP_PORT = int(os.environ.get("CHANNEL_HTTP_PORT", "8069"))
TEST_HTTP_PORT = int(os.environ.get("CHANNEL_TEST_HTTP_PORT", "8169"))
SANDBOX_PORT = int(os.environ.get("CHANNEL_SANDBOX_PORT", "8899"))
# Seconds between two sandbox orders (README, "Sandbox"); 0 turns it off.
SANDBOX_INTERVAL = float(os.environ.get("CHANNEL_SANDBOX", "15"))
SANDBOX_SETUP = """
env["ir.config_parameter"].set_param("web.base.url", %(base_url)r)
backends = env["channel.backend"]._sandbox_prepare(%(sim_url)r, [%(unmapped)r])
env.cr.commit()
for backend in backends:
    print("sandbox:", backend.name, "-", backend.state_message, "-",
          backend.catalogue_match_message)
    if backend.supports_fulfilment_handoff:
        # The simulated partner confirms to this backend's webhook URL.
        import json, urllib.request
        urllib.request.urlopen(urllib.request.Request(
            %(sim_url)r + "/_sim/threepl/connect",
            data=json.dumps({"webhook_url": backend._get_webhook_address(),
                             "ship_delay": 60}).encode(),
            headers={"Content-Type": "application/json"}), timeout=10).read()
"""
# The admin's language in `make run` (README.rst, "Languages"), e.g. fr_FR.
RUN_LANGUAGE = os.environ.get("CHANNEL_LANG", "")
LANGUAGE_SETUP = """
from odoo.tools.translate import load_language
admin = env.ref("base.user_admin")
if admin.lang != %(lang)r:
    load_language(env.cr, %(lang)r)
    admin.lang = %(lang)r
    env.cr.commit()
print("language:", admin.lang, "for", admin.login)
"""
EMBEDDED_ROLE = "odoo"
# Odoo's requirements.txt pins versions that do not install from wheels on
# Python 3.11: pin -> replacement, None drops it (python-ldap serves auth_ldap only).
REQUIREMENT_REPLACEMENTS = {
    "cbor2==5.4.2": "cbor2==5.4.6",
    "psycopg2==2.9.2": "psycopg2-binary==2.9.9",
    "psycopg2==2.9.5": "psycopg2-binary==2.9.9",
    "psycopg2==2.9.9": "psycopg2-binary==2.9.9",
    "psycopg2==2.9.10": "psycopg2-binary==2.9.10",
    "python-ldap==3.4.0": None,
    "python-ldap==3.4.4": None,
}
# Job channel capacities: root leaves a free slot for orders whatever the
# stock and catalogue channels are doing.
JOB_CHANNELS = (
    "root:5,root.channel_connector.orders:2,root.channel_connector.webhooks:1,"
    "root.channel_connector.stock:1,root.channel_connector.catalog:1"
)
# What the test copy of the addon leaves out.
COPY_IGNORED = (
    ".venv",
    ".build",
    ".git",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
)
# What the wheel leaves out (README.rst, "Installing from a wheel"): the
# developer's side of the repository. Odoo never imports these; the sandbox of
# `make run` starts the simulator from the checkout, not from the addon.
WHEEL_EXCLUDED = (
    *COPY_IGNORED,
    ".ci",
    ".gitignore",
    ".pylintrc",
    "Makefile",
    "bench",
    "docs",
    "requirements.txt",
    "simulator",
    "tests",
    "tools",
)
# Files whose change requires reinstalling the module in the test template.
INSTALL_RELEVANT_DIRS = (
    "adapters",
    "controllers",
    "data",
    "demo",
    "models",
    "report",
    "security",
    "static",
    "views",
    "wizards",
)


def say(message):
    print(f"[devctl] {message}", flush=True)


def die(message):
    print(f"[devctl] ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


# === STAGE 1: standard library only ===


def odoo_series(odoo_path):
    """Return the "major.minor" series of the Odoo tree, or None if there is none."""
    release = odoo_path / "odoo" / "release.py"
    if not release.is_file():
        return None
    match = re.search(r"version_info\s*=\s*\((\d+),\s*(\d+)", release.read_text())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def check_odoo():
    series = odoo_series(ODOO_PATH)
    if series != "19.0":
        found = f"Odoo {series}" if series else "no Odoo source"
        die(
            f"$ODOO_PATH={ODOO_PATH} holds {found}; an Odoo 19.0 Community source "
            "tree is required (git clone --depth 1 -b 19.0 "
            "https://github.com/odoo/odoo /opt/odoo)."
        )


def adjust_odoo_requirements(text):
    """Rewrite Odoo's requirements.txt so that every line installs from a wheel.

    Environment markers are kept, so each replacement applies to the same
    Python versions as the pin it replaces.
    """
    lines = []
    for line in text.splitlines():
        requirement, separator, rest = line.partition(";")
        pin = requirement.split("#", 1)[0].strip()
        if pin not in REQUIREMENT_REPLACEMENTS:
            lines.append(line)
        elif REQUIREMENT_REPLACEMENTS[pin]:
            lines.append(f"{REQUIREMENT_REPLACEMENTS[pin]} {separator}{rest}".strip())
    return "\n".join(lines) + "\n"


def requirements_digest():
    digest = hashlib.sha256()
    for path in (ODOO_PATH / "requirements.txt", ROOT / "requirements.txt"):
        digest.update(path.read_bytes())
    digest.update(repr(sorted(REQUIREMENT_REPLACEMENTS.items())).encode())
    digest.update(str(ODOO_PATH).encode())
    return digest.hexdigest()


def ensure_venv():
    """Create `.venv` and install Odoo's and our requirements when they changed."""
    if not VENV_PYTHON.exists():
        say(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp = VENV / ".channel_connector_requirements"
    wanted = requirements_digest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    BUILD.mkdir(exist_ok=True)
    odoo_requirements = BUILD / "odoo-requirements.txt"
    odoo_requirements.write_text(
        adjust_odoo_requirements((ODOO_PATH / "requirements.txt").read_text())
    )
    say("installing Python requirements (Odoo's and ours)")
    pip = [
        str(VENV_PYTHON),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run(
        [*pip, "-r", str(odoo_requirements), "-r", str(ROOT / "requirements.txt")],
        check=True,
    )
    # The OCA wheel requires the `odoo` distribution, which is not on PyPI: Odoo
    # itself comes from $ODOO_PATH through a .pth file.
    subprocess.run([*pip, "--no-deps", "odoo-addon-queue_job==19.0.*"], check=True)
    purelib = subprocess.run(
        [
            str(VENV_PYTHON),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "odoo_source.pth").write_text(f"{ODOO_PATH}\n")
    stamp.write_text(wanted)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# === STAGE 2: inside the virtualenv ===


def tcp_answers(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def can_connect(params):
    import psycopg2

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **params).close()
    except psycopg2.Error:
        return False
    return True


def start_embedded_postgres(data_dir):
    """Start (or reuse) a pgserver PostgreSQL in `data_dir` with an `odoo` role.

    Odoo refuses the `postgres` role, so a superuser role of our own is created.
    The server keeps running after this process ends, like a system service.
    """
    import pgserver
    import psycopg2

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    postmaster = server.get_postmaster_info()
    admin = psycopg2.connect(
        dbname="postgres",
        user="postgres",
        host=str(postmaster.socket_dir),
        port=postmaster.port,
    )
    admin.autocommit = True
    with admin.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [EMBEDDED_ROLE])
        if not cr.fetchone():
            cr.execute(
                f"CREATE ROLE {EMBEDDED_ROLE} SUPERUSER LOGIN PASSWORD %s",
                [EMBEDDED_ROLE],
            )
    admin.close()
    return {
        "host": str(postmaster.socket_dir),
        "port": postmaster.port,
        "user": EMBEDDED_ROLE,
        "password": EMBEDDED_ROLE,
    }


def stop_embedded_postgres(data_dir):
    """Stop the pgserver PostgreSQL running in `data_dir`."""
    from pgserver import pg_ctl

    # As root, pgserver runs the server as its own `pgserver` system user.
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=Path(data_dir).resolve(), user=user)


def discover_postgres(environ, probe=("127.0.0.1", 5432), data_dir=None):
    """Find a PostgreSQL server for Odoo and return (source, connection params).

    Order: PGHOST/PGPORT/PGUSER from the environment; else a local server that
    answers on `probe` (as the OS user's role); else an embedded server.
    """
    if any(environ.get(name) for name in ("PGHOST", "PGPORT", "PGUSER")):
        params = {
            "host": environ.get("PGHOST") or "127.0.0.1",
            "port": int(environ.get("PGPORT") or 5432),
            "user": environ.get("PGUSER") or getpass.getuser(),
            "password": environ.get("PGPASSWORD") or "",
        }
        return "environment", params
    host, port = probe
    local = {"host": host, "port": port, "user": getpass.getuser(), "password": ""}
    if local["user"] != "postgres" and tcp_answers(host, port) and can_connect(local):
        return "local", local
    return "embedded", start_embedded_postgres(data_dir or BUILD / "pgdata")


def link_addon(addons_dir):
    """Serve the working tree itself under its technical name (for `make run`)."""
    addons_dir.mkdir(parents=True, exist_ok=True)
    link = addons_dir / MODULE
    if not link.is_symlink() or link.resolve() != ROOT:
        if link.is_symlink() or link.exists():
            shutil.rmtree(
                link
            ) if link.is_dir() and not link.is_symlink() else link.unlink()
        link.symlink_to(ROOT, target_is_directory=True)


def copy_addon(addons_dir):
    """Copy the addon under its technical name (for `make test`).

    pytest resolves symlinks and names test modules after the real folder, which
    is the clone's name; pytest-odoo needs `odoo.addons.channel_connector`.
    """
    target = addons_dir / MODULE
    if target.is_symlink():
        target.unlink()
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*COPY_IGNORED))


def write_odoo_config(path, params, http_port, addons_dir, background=True):
    """Odoo's configuration; `background=False` starts no cron or job runner.

    The test server must not run jobs and crons of its own: they would act
    on rows a test commits (and race the test's own clean-up).
    """
    path.write_text(
        "[options]\n"
        f"addons_path = {ODOO_PATH / 'addons'},{addons_dir}\n"
        f"data_dir = {BUILD / 'data'}\n"
        f"db_host = {params['host']}\n"
        f"db_port = {params['port']}\n"
        f"db_user = {params['user']}\n"
        f"db_password = {params['password']}\n"
        "http_interface = 127.0.0.1\n"
        f"http_port = {http_port}\n"
        "server_wide_modules = base,rpc,web,queue_job\n"
        "workers = 0\n"
        f"max_cron_threads = {1 if background else 0}\n"
        "\n[queue_job]\n"
        f"channels = {JOB_CHANNELS if background else 'root:0'}\n"
    )
    return path


def connect(params, dbname="postgres"):
    import psycopg2

    connection = psycopg2.connect(dbname=dbname, **params)
    connection.autocommit = True
    return connection


def database_names(params):
    with connect(params) as connection, connection.cursor() as cr:
        cr.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cr.fetchall()}


def drop_database(params, name):
    connection = connect(params)
    with connection.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
    shutil.rmtree(BUILD / "data" / "filestore" / name, ignore_errors=True)


def copy_database(params, template, name):
    drop_database(params, name)
    connection = connect(params)
    with connection.cursor() as cr:
        cr.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connection.close()
    filestore = BUILD / "data" / "filestore"
    if (filestore / template).exists():
        shutil.copytree(filestore / template, filestore / name)


def module_digest():
    """Digest of the files that installing the module reads."""
    digest = hashlib.sha256()
    paths = [ROOT / "__manifest__.py", ROOT / "__init__.py", ROOT / "const.py"]
    for folder in INSTALL_RELEVANT_DIRS:
        paths.extend(sorted(p for p in (ROOT / folder).rglob("*") if p.is_file()))
    for path in paths:
        if path.exists() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def odoo_command(config, *args):
    return [sys.executable, str(ODOO_PATH / "odoo-bin"), "-c", str(config), *args]


def install_module(config, database, with_demo):
    say(f"installing {MODULE} into database {database}")
    started = time.monotonic()
    demo = ["--with-demo"] if with_demo else []
    subprocess.run(
        odoo_command(
            config,
            "-d",
            database,
            "-i",
            MODULE,
            *demo,
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
    )
    say(f"installed in {time.monotonic() - started:.0f} s")


def prepare_test_database(config, params):
    """Copy the test database from a template rebuilt only when the module changed.

    A template is reused only with its filestore, which is in the `.build` of
    the checkout that built it: another checkout (`.ci/run`'s copy) rebuilds it.
    """
    template = f"{TEMPLATE_PREFIX}{module_digest()}"
    existing = database_names(params)
    filestore = BUILD / "data" / "filestore" / template
    if template not in existing or not filestore.is_dir():
        for stale in sorted(n for n in existing if n.startswith(TEMPLATE_PREFIX)):
            drop_database(params, stale)
        try:
            install_module(config, template, with_demo=False)
        except subprocess.CalledProcessError:
            drop_database(params, template)
            raise
    else:
        say(f"reusing template database {template}")
    copy_database(params, template, TEST_DATABASE)


def ensure_chromium():
    """Install Debian's Chromium for the browser tour when it is missing.

    Odoo's `start_tour` skips silently without a browser; a skipped tour is
    not a passing one, so the test command installs it where it can.
    """
    if any(
        shutil.which(name) for name in ("chromium", "google-chrome", "chromium-browser")
    ):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        die("Chromium is required by the browser tour: install the 'chromium' package.")
    say("installing Chromium for the browser tour (apt-get)")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def lint():
    say("ruff check and format check")
    ruff = str(VENV / "bin" / "ruff")
    subprocess.run([ruff, "check", "--quiet", str(ROOT)], check=True)
    subprocess.run([ruff, "format", "--check", "--quiet", str(ROOT)], check=True)


def lint_addon(addons_dir):
    """pylint-odoo (OCA's checks, `.pylintrc`) and manifestoo's manifest checks.

    They run on the copy named `channel_connector`: pylint-odoo names the
    module after its folder, which a clone need not be.
    """
    say("pylint-odoo and manifestoo")
    subprocess.run(
        [str(VENV / "bin" / "pylint"), f"--rcfile={ROOT / '.pylintrc'}", MODULE],
        check=True,
        cwd=str(addons_dir),
    )
    addons_path = [
        ODOO_PATH / "addons",
        Path(sysconfig.get_paths()["purelib"], "odoo", "addons"),
        addons_dir,
    ]
    manifestoo = [
        str(VENV / "bin" / "manifestoo"),
        f"--addons-path={','.join(map(str, addons_path))}",
        "--no-addons-path-from-import-odoo",
        "--odoo-series=19.0",
        f"--select-include={MODULE}",
    ]
    for check in ("check-licenses", "check-dev-status"):
        subprocess.run([*manifestoo, check], check=True)


def prepare_test_addon():
    """Copy the addon and build the test database; return the configuration."""
    source, params = discover_postgres(os.environ)
    say(f"PostgreSQL: {source} ({params['host']}:{params['port']} as {params['user']})")
    copy_addon(BUILD / "test-addons")
    config = write_odoo_config(
        BUILD / "odoo-test.conf",
        params,
        TEST_HTTP_PORT,
        BUILD / "test-addons",
        background=False,
    )
    prepare_test_database(config, params)
    return config


def command_test(args):
    lint()
    ensure_chromium()
    config = prepare_test_addon()
    lint_addon(BUILD / "test-addons")
    module_path = BUILD / "test-addons" / MODULE
    targets = args.pytest_args or [
        str(module_path / folder / "tests")
        for folder in ("", "tools", "simulator")
        if (module_path / folder / "tests").is_dir()
    ]
    command = [
        sys.executable,
        "-m",
        "pytest",
        f"--odoo-config={config}",
        f"--odoo-database={TEST_DATABASE}",
        "--odoo-http",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rs",
        *targets,
    ]
    # The simulator is a top-level package of the repository, not of the addon.
    environ = {**os.environ, "PYTHONPATH": str(module_path)}
    # It would win over the test configuration's `channels = root:0`.
    environ.pop("ODOO_QUEUE_JOB_CHANNELS", None)
    return subprocess.run(
        command, check=False, cwd=str(module_path), env=environ
    ).returncode


def wheel_ignored(top):
    """The copytree filter of the wheel: WHEEL_EXCLUDED at the top, caches anywhere."""

    def ignored(folder, names):
        patterns = WHEEL_EXCLUDED if Path(folder) == top else COPY_IGNORED
        return shutil.ignore_patterns(*patterns, "*.pyc")(folder, names)

    return ignored


def build_wheel(source, dist_dir, staging):
    """Build the addon's wheel with whool (`make wheel`); return its path.

    whool ships every file git tracks, so it builds from a copy of the shipped
    files with no git repository above it: the wheel's version is the
    manifest's, as written.
    """
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    addon = staging / MODULE
    shutil.copytree(source, addon, ignore=wheel_ignored(Path(source)))
    dist_dir.mkdir(parents=True, exist_ok=True)
    before = set(dist_dir.glob("*.whl"))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"),
            *("--no-build-isolation", "--wheel-dir", str(dist_dir), str(addon)),
        ],
        check=True,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(staging)},
    )
    built = set(dist_dir.glob("*.whl")) - before
    return built.pop() if built else max(dist_dir.glob("*.whl"), key=os.path.getmtime)


def command_wheel(args):
    wheel = build_wheel(ROOT, BUILD / "dist", BUILD / "wheel-src")
    say(f"wheel: {wheel}")
    return 0


def merge_translations(pot_path):
    """Bring every i18n/*.po in line with the template: new msgids come in
    untranslated, msgids gone from the code leave."""
    import polib

    template = polib.pofile(str(pot_path))
    for po_path in sorted(pot_path.parent.glob("*.po")):
        catalog = polib.pofile(str(po_path))
        catalog.merge(template)
        for entry in catalog.obsolete_entries():
            catalog.remove(entry)
        catalog.save()
        missing = len(catalog.untranslated_entries())
        say(f"{po_path.name}: {missing} msgids to translate")


def command_pot(args):
    """Export the .pot with Odoo's own exporter, then merge it into the .po files."""
    config = prepare_test_addon()
    pot_path = ROOT / "i18n" / f"{MODULE}.pot"
    pot_path.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            *(sys.executable, str(ODOO_PATH / "odoo-bin"), "i18n", "export"),
            *(f"--config={config}", f"--database={TEST_DATABASE}", MODULE),
            f"--output={pot_path}",
        ],
        check=True,
    )
    merge_translations(pot_path)
    say(f"exported {pot_path.relative_to(ROOT)}")
    return 0


def command_run(args):
    source, params = discover_postgres(os.environ)
    say(f"PostgreSQL: {source} ({params['host']}:{params['port']} as {params['user']})")
    link_addon(BUILD / "addons")
    config = write_odoo_config(
        BUILD / "odoo.conf", params, RUN_HTTP_PORT, BUILD / "addons"
    )
    stamp = BUILD / f"{RUN_DATABASE}.installed"
    digest = module_digest()
    if RUN_DATABASE not in database_names(params):
        install_module(config, RUN_DATABASE, with_demo=True)
    elif not stamp.exists() or stamp.read_text() != digest:
        say(f"updating {MODULE} in {RUN_DATABASE}")
        subprocess.run(
            odoo_command(config, "-d", RUN_DATABASE, "-u", MODULE, "--stop-after-init"),
            check=True,
        )
    stamp.write_text(digest)
    if RUN_LANGUAGE:
        set_admin_language(config, RUN_DATABASE, RUN_LANGUAGE)
    simulator = start_sandbox(config) if SANDBOX_INTERVAL > 0 else None
    say(f"Odoo on http://localhost:{RUN_HTTP_PORT} (admin / admin); Ctrl+C stops it")
    command = odoo_command(config, "-d", RUN_DATABASE)
    try:
        return subprocess.run(command, check=False).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        if simulator:
            simulator.terminate()
            simulator.wait(15)


def set_admin_language(config, database, language):
    """Load `language` (every installed module's .po, i18n/fr.po for French)
    and make it the admin's; nothing to do when it already is."""
    say(f"language: {language} for the admin")
    subprocess.run(
        [
            *(sys.executable, str(ODOO_PATH / "odoo-bin"), "shell"),
            *(f"--config={config}", f"--database={database}", "--log-level=warn"),
        ],
        input=LANGUAGE_SETUP % {"lang": language},
        text=True,
        check=True,
    )


def start_sandbox(config):
    """Start the channel simulator and wire the demo backends to it.

    The simulator keeps its scenario in .build/ across restarts, so channel
    order ids never repeat against orders already imported.
    """
    sys.path.insert(0, str(ROOT))
    from simulator.sandbox import UNMAPPED_SKU

    say(f"sandbox: channel simulator on http://127.0.0.1:{SANDBOX_PORT}")
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            f"--port={SANDBOX_PORT}",
            f"--state={BUILD / 'sandbox-simulator.json'}",
            f"--sandbox={SANDBOX_INTERVAL}",
        ],
        cwd=str(ROOT),
    )
    for _attempt in range(100):
        if tcp_answers("127.0.0.1", SANDBOX_PORT, timeout=0.2):
            break
        if simulator.poll() is not None:
            die(f"The simulator exited with {simulator.returncode}.")
        time.sleep(0.1)
    script = SANDBOX_SETUP % {
        "base_url": f"http://127.0.0.1:{RUN_HTTP_PORT}",
        "sim_url": f"http://127.0.0.1:{SANDBOX_PORT}",
        "unmapped": UNMAPPED_SKU,
    }
    try:
        subprocess.run(
            [
                sys.executable,
                str(ODOO_PATH / "odoo-bin"),
                "shell",
                f"--config={config}",
                f"--database={RUN_DATABASE}",
                "--log-level=warn",
            ],
            input=script,
            text=True,
            check=True,
        )
    except BaseException:
        simulator.terminate()
        raise
    return simulator


# OCA's Shopify connector, the comparison of the benchmarks: installed into
# the environment by them only, never a dependency of the addon.
OCA_SHOPIFY_REQUIREMENT = "odoo-addon-shopify_connector==19.0.*"


def install_benchmark_package(requirement=OCA_SHOPIFY_REQUIREMENT):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", requirement],
        check=True,
    )


def command_bench(args):
    """Run a benchmark script of bench/ inside the environment."""
    script = ROOT / "bench" / f"{args.name}.py"
    if not script.exists():
        die(f"No benchmark {script.name} in bench/.")
    command = [sys.executable, str(script), *args.bench_args]
    return subprocess.run(command, check=False).returncode


def command_reliability(args):
    """Run tools/reliability.py inside the environment (README, "Reliability")."""
    command = [sys.executable, str(ROOT / "tools" / "reliability.py"), *args.options]
    return subprocess.run(command, check=False).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="install if needed and serve Odoo with the addon")
    sub.add_parser("venv", help="create or update .venv only (for .ci/run)")
    sub.add_parser("wheel", help="build the addon's wheel into .build/dist")
    sub.add_parser("pot", help="regenerate i18n/channel_connector.pot (and merge .po)")
    test = sub.add_parser("test", help="lint and run the test suite")
    test.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="pytest targets and options"
    )
    check_odoo()
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sub.add_parser(
        "reliability", help="inject faults into a running Odoo, count losses"
    )
    bench = sub.add_parser("bench", help="run a benchmark of bench/")
    bench.add_argument("name", help="script name without .py, e.g. webhook_ack")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    # `reliability` passes its options on (they start with "--").
    args, extra = parser.parse_known_args()
    if extra and args.command != "reliability":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.options = extra
    commands = {
        "run": command_run,
        "test": command_test,
        "bench": command_bench,
        "reliability": command_reliability,
        "venv": lambda args: 0,
        "wheel": command_wheel,
        "pot": command_pot,
    }
    try:
        sys.exit(commands[args.command](args))
    except subprocess.CalledProcessError as exc:
        die(f"{' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}")


if __name__ == "__main__":
    main()
