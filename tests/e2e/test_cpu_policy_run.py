"""A run with its workers records each cell's CPU policy and load; show flags a cell whose worker
was starved."""

import json


def test_each_cell_records_its_policy_and_load_and_show_flags_overload(write_suite, tmp_path, invoke_genbench):
    out = tmp_path / "out"
    ran = invoke_genbench("run", str(write_suite()), "--out", str(out), "--workers", "1", "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    assert "CPU: 1 worker x 1 thread" in ran.stdout
    from genbench.results.store import Store

    store = Store(out)
    try:
        envs = [json.loads(c.row["env"]) for c in store.cells()]
        assert all(env["cpu_policy"]["workers"] == 1 and env["cpu_policy"]["threads"] == 1 for env in envs)
        assert all(env["load_start"] >= 0 and env["load_end"] >= 0 for env in envs)
        # Make one cell look starved: half a core's CPU over 10 s of training.
        cell = store.cells()[0]
        with store.transaction():
            store.db.execute("UPDATE cells SET train_time_s=10, warmup_time_s=0, train_cpu_s=5 WHERE cell_id=?",
                             (cell.cell_id,))
    finally:
        store.close()
    shown = invoke_genbench("show", str(out))
    assert shown.returncode == 0, shown.stderr
    assert f"throughput of 1 cell measured while the machine was overloaded (not representative); which and " \
           f"why: genbench show {out} --all" in shown.stdout  # one line, not one per cell
    assert "used 0.50 cores'" not in shown.stdout
    shown = invoke_genbench("show", str(out), "--all")
    assert "throughput measured while the machine was overloaded" in shown.stdout
    assert f"/seed{cell.seed}: used 0.50 cores' CPU with 1 thread" in shown.stdout
    exported = json.loads(invoke_genbench("export", str(out), "--format", "json").stdout)
    flagged = {r["metric"]: r["overloaded"] for r in exported if r["metric"] in ("samples_per_s", "modes")}
    assert flagged == {"samples_per_s": 1, "modes": 0}
