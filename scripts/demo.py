"""The main job: a Meltano pipeline from Planhat into an embedded DuckDB file.

With a Planhat token (PLANHAT_API_TOKEN in the environment or .env) it reads your tenant
(Meltano environment ``planhat``). Without one it starts the local planhat-sandbox, says
so, and runs against it (environment ``dev``). Either way it then builds the analytics models
(``meltano invoke dbt-duckdb:build``, analytics/) into the same file and ends by printing the
tables in ``output/planhat.duckdb`` and headline numbers from the marts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import ROOT, ensure_all, say
from sandbox_process import SandboxProcess

DUCKDB_FILE = ROOT / "output" / "planhat.duckdb"
DEMO_RECORDS = 200


def planhat_token() -> str | None:
    """The real token, from the environment or the project's .env."""
    if os.environ.get("PLANHAT_API_TOKEN"):
        return os.environ["PLANHAT_API_TOKEN"]
    dotenv = ROOT / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "PLANHAT_API_TOKEN" and value.strip():
                return value.strip()
    return None


def meltano_run(meltano: Path, environment: str, env: dict[str, str]) -> None:
    """Install the plugins (first time) and run the pipeline."""
    args = [str(meltano), "--environment", environment]
    subprocess.run([*args, "install"], check=True, cwd=ROOT, env=env)
    pipeline = ["run", "tap-planhat-duckdb", "target-duckdb"]
    subprocess.run([*args, *pipeline], check=True, cwd=ROOT, env=env)


def dbt_build(meltano: Path, environment: str, env: dict[str, str], as_of: str | None) -> None:
    """Build and test the analytics models (analytics/) in the DuckDB file, as of ``as_of``."""
    say("Building the analytics models (dbt, analytics/) into the same file")
    args = [str(meltano), "--environment", environment, "invoke", "dbt-duckdb:build"]
    if as_of:
        args += ["--vars", f"{{planhat_as_of_date: '{as_of}'}}"]
    subprocess.run(args, check=True, cwd=ROOT, env=env)


def seeded_today(python: Path) -> str:
    """The sandbox's seeded "today": its contracts start and end around it, not around now."""
    code = "from planhat_sandbox.values import SEEDED_TODAY; print(SEEDED_TODAY)"
    found = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return found.stdout.strip()


def show_tables(python: Path) -> None:
    """Row counts per loaded table (schema tap_planhat), read back from the DuckDB file."""
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        'rows = con.execute("select table_schema, table_name from information_schema.tables '
        "where table_schema = 'tap_planhat' order by 1, 2\").fetchall()\n"
        "for schema, table in rows:\n"
        '    n = con.execute(f\'select count(*) from "{schema}"."{table}"\').fetchone()[0]\n'
        "    print(f'  {schema}.{table:<20} {n:>7} rows')\n"
    )
    subprocess.run([str(python), "-c", code, str(DUCKDB_FILE)], check=True)


def main() -> None:
    """Set up, run, show."""
    python, meltano = ensure_all()
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
    DUCKDB_FILE.parent.mkdir(exist_ok=True)
    environment = "planhat" if planhat_token() else "dev"
    as_of = None  # a tenant's marts are as of today
    if environment == "planhat":
        say("PLANHAT_API_TOKEN found: extracting from your Planhat tenant")
        meltano_run(meltano, environment, env)
    else:
        say(
            "No Planhat token configured (PLANHAT_API_TOKEN; see .env.example): running "
            f"against the local planhat-sandbox with {DEMO_RECORDS} records per model"
        )
        with SandboxProcess(python, records=DEMO_RECORDS) as sandbox:
            meltano_run(meltano, environment, {**env, **sandbox.environment()})
        as_of = seeded_today(python)
        say(f"The sandbox's data is seeded around {as_of}: the marts are built as of that day")
    say(f"Loaded into {DUCKDB_FILE.relative_to(ROOT)}:")
    show_tables(python)
    dbt_build(meltano, environment, env, as_of)
    say("Analytics models in schema analytics (company_360, mrr_monthly, renewals, ...):")
    headlines = ROOT / "scripts" / "analytics_headlines.py"
    subprocess.run(
        [str(python), str(headlines), str(DUCKDB_FILE), *([as_of] if as_of else [])], check=True
    )


if __name__ == "__main__":
    main()
