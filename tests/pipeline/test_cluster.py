"""Cluster use: `ray job submit` of jobs/vectorize.py to the 2-node cluster of cluster/local.sh, and the KubeRay /
cluster-launcher YAML files (they parse and carry the fields KubeRay and `ray up` require)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from layertracer.pipeline.index import read_index
from tests.pipeline.icons import write_jsonl

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
RAY = str(Path(sys.executable).parent / "ray")


@pytest.fixture
def local_cluster():
    """cluster/local.sh's head + worker (own temp dir: Ray's socket paths must stay short); stopped by pid."""
    state = tempfile.mkdtemp(prefix="lt-c-")
    env = {**os.environ, "PYTHON": sys.executable, "CPUS_PER_NODE": "1", "RAY_AUTH_MODE": "disabled"}
    try:
        started = subprocess.run([str(CLUSTER / "local.sh"), "start", state], env=env, capture_output=True,
                                 text=True, timeout=150, stdin=subprocess.DEVNULL)
        assert started.returncode == 0, started.stdout + started.stderr
        yield dict(line.split("=", 1) for line in started.stdout.split())
    finally:
        subprocess.run([str(CLUSTER / "local.sh"), "stop", state], env=env, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def test_ray_job_submit_to_local_two_node_cluster(local_cluster, tmp_path, inputs):
    rows = [{"id": f"g{i}", "kind": "grid", "image": str(inputs.grid(i, 4)), "frames": 4} for i in range(4)]
    manifest = str(write_jsonl(tmp_path / "m.jsonl", [*rows, {"id": "t", "prompt": "a star"}]))
    out = str(tmp_path / "out")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    job = subprocess.run(
        [RAY, "job", "submit", "--address", local_cluster["DASHBOARD"], "--working-dir", str(REPO), "--",
         "python", "jobs/vectorize.py", manifest, "--out", out, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert job.returncode == 0 and "succeeded" in job.stdout + job.stderr, job.stdout[-3000:] + job.stderr[-3000:]
    assert "layertracer run: 4 ok, 1 error of 5 rows" in job.stdout
    by_id = {r["id"]: r for r in read_index(out).to_pylist()}
    assert {i: r["status"] for i, r in by_id.items()} == {"g0": "ok", "g1": "ok", "g2": "ok", "g3": "ok", "t": "error"}
    assert all(os.path.getsize(f"{out}/svg/g{i}.svg") == by_id[f"g{i}"]["svg_bytes"] for i in range(4))


def test_generate_job_needs_a_model():
    job = subprocess.run([sys.executable, str(REPO / "jobs" / "generate.py"), "m.jsonl", "--out", "o"],
                         capture_output=True, text=True, timeout=60)
    assert job.returncode == 2 and "--model is required" in job.stderr


def pod_spec_checks(template: dict, gpu: bool) -> None:
    containers = template["spec"]["containers"]
    assert containers and all(c["name"] and c["image"].startswith("rayproject/ray:2.60.0") for c in containers)
    limits = containers[0]["resources"]["limits"]
    assert ("nvidia.com/gpu" in limits) == gpu


def ray_cluster_spec_checks(spec: dict) -> None:
    """What KubeRay's CRD requires of a RayCluster spec (and what this project relies on)."""
    assert spec["enableInTreeAutoscaling"] is True and spec["rayVersion"] == "2.60.0"
    head = spec["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict)
    pod_spec_checks(head["template"], gpu=False)
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert "cpu" in groups
    for name, group in groups.items():
        assert isinstance(group["rayStartParams"], dict)
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        pod_spec_checks(group["template"], gpu=name == "gpu")


def test_kuberay_manifests():
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster") and cluster["metadata"]["name"]
    ray_cluster_spec_checks(cluster["spec"])
    gpu = next(g for g in cluster["spec"]["workerGroupSpecs"] if g["groupName"] == "gpu")
    assert gpu["minReplicas"] == 0 and gpu["maxReplicas"] > 0  # scales from zero on demand
    for name, script in (("rayjob-vectorize.yaml", "jobs/vectorize.py"), ("rayjob-generate.yaml", "jobs/generate.py")):
        job = yaml.safe_load((CLUSTER / "kuberay" / name).read_text())
        assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob") and job["metadata"]["name"]
        spec = job["spec"]
        assert spec["entrypoint"].startswith(f"python {script} ") and (REPO / script).exists()
        assert "--out s3://" in spec["entrypoint"] and spec["shutdownAfterJobFinishes"] is True
        runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
        assert runtime_env["working_dir"] and "vtracer>=0.6.11" in runtime_env["pip"]
        ray_cluster_spec_checks(spec["rayClusterSpec"])
    generate = yaml.safe_load((CLUSTER / "kuberay" / "rayjob-generate.yaml").read_text())["spec"]
    assert "--model" in generate["entrypoint"]
    assert any(g["groupName"] == "gpu" for g in generate["rayClusterSpec"]["workerGroupSpecs"])


def test_cluster_launcher_config():
    config = yaml.safe_load((CLUSTER / "aws.yaml").read_text())
    assert config["cluster_name"] and config["provider"]["type"] == "aws" and config["provider"]["region"]
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    gpu = [t for t in types.values() if t["resources"].get("GPU", 0) >= 1]
    assert gpu and all(t["node_config"]["InstanceType"] and t["min_workers"] <= t["max_workers"] for t in gpu)
    assert sum(t.get("max_workers", 0) for t in types.values()) >= config["max_workers"] > 0
    assert any("ray start --head" in c for c in config["head_start_ray_commands"])
