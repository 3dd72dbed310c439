"""The ``openjd`` engine: an Open Job Description job bundle (the job format of AWS Deadline Cloud).

``template.json`` holds the recipe and no shot: job parameters for the clips, output, shot file, colour and
every ``--set`` param, an environment that puts the project's Python first on PATH (and stops the job when it
cannot import changer), a ``Render`` step whose ``Frames`` task parameter holds one frame range per chunk, and a
``Verify`` step after it. The shot's values go in ``parameter_values.json`` (what ``deadline bundle submit``
reads) and ``params.json`` (what ``openjd run -p file://...`` reads): OpenJD refuses absolute paths as PATH
defaults, and PATH parameters are what a farm's path mapping rewrites. The template is validated with
openjd-model before it is written.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from typing import Any

from openjd.model import DecodeValidationError, decode_job_template

from changer.core.errors import ParamError

from ..params import get_param
from .farm import RETRY_TEXT, SHELL_MODULE, FarmJob
from .options import CLIP_OPTIONS, RenderOptions

SPECIFICATION = "jobtemplate-2023-09"
#: Seconds a cancelled task has between SIGTERM and SIGKILL: changer removes its temp files and locks and exits 143.
NOTIFY_SECONDS = 30
#: Runs when a session starts on a worker, with the job's Python as $1: what ``source venv/bin/activate`` does
#: (PATH, VIRTUAL_ENV), for every action of the session, after proving that Python imports changer.
ENTER_SCRIPT = f"""set -eu
python="$1"
if ! "$python" -c 'import {SHELL_MODULE}'; then
  echo "changer farm: $python cannot import changer on $(hostname): install the project there or submit with \\
-p ChangerPython=<a Python that can>" >&2
  exit 2
fi
echo "openjd_env: PATH=$(dirname "$python"):$PATH"
venv=$("$python" -c 'import sys; print(sys.prefix if sys.prefix != sys.base_prefix else "")')
if [ -n "$venv" ]; then echo "openjd_env: VIRTUAL_ENV=$venv"; fi
echo "openjd_env: PYTHONUNBUFFERED=1"
"""


def _camel(option: str) -> str:
    """``target_matte`` -> ``TargetMatte`` (the fixed parameters; ``--set`` params keep their snake_case names)."""
    return "".join(word.capitalize() for word in option.split("_"))


def _parameter(name: str, kind: str, description: str) -> dict[str, str]:
    return {"name": name, "type": kind, "description": description}


def _parameters(job: FarmJob) -> tuple[list[dict[str, str]], dict[str, str], RenderOptions]:
    """(job parameter definitions, the shot's values, the task's options written with ``{{Param.X}}``)."""
    options = job.options
    definitions = [_parameter("ChangerPython", "PATH", "the Python that runs changer on the workers")]
    values = {"ChangerPython": job.python}
    placeholders: dict[str, Any] = {}
    described = {**{name: text for name, (_, text) in CLIP_OPTIONS.items()},
                 "out": "the output EXR sequence (changer render --out)",
                 "config": "shot settings: a TOML file with param names as keys (changer render --config)",
                 "ocio_config": "OCIO config path or ocio:// URI (changer render --ocio-config)",
                 "working_space": "colourspace of the plates and output (changer render --working-space)"}
    for option, description in described.items():
        value = getattr(options, option)
        if value is not None:
            kind = "STRING" if option in ("ocio_config", "working_space") else "PATH"
            definitions.append(_parameter(_camel(option), kind, description))
            values[_camel(option)] = str(value)
            placeholders[option] = f"{{{{Param.{_camel(option)}}}}}"
    sets: dict[str, str] = {}
    for item in options.sets:
        name, _, value = item.partition("=")
        sets[name.strip()] = value
    for name, value in sets.items():
        kind = "PATH" if get_param(name).type == "path" else "STRING"
        definitions.append(_parameter(name, kind, f"changer param {name} (changer render --set {name}=VALUE)"))
        values[name] = value
    placeholders["sets"] = tuple(f"{name}={{{{Param.{name}}}}}" for name in sets)
    return definitions, values, replace(options, **placeholders, frames="{{Task.Param.Frames}}")


def template(job: FarmJob) -> dict[str, Any]:
    """The job template (a plain dict, as JSON holds it)."""
    definitions, _, task_options = _parameters(job)
    python = "{{Param.ChangerPython}}"
    render = job.render_argv(task_options)
    verify = job.verify_argv("{{Param.Out}}")
    return {
        "specificationVersion": SPECIFICATION,
        "name": job.name,
        "description": f"changer render of frames {job.frames} in tasks of {job.chunk} frame(s), then changer verify",
        "parameterDefinitions": definitions,
        "jobEnvironments": [{
            "name": "ChangerPython",
            "description": "puts the job's Python first on PATH (a virtual environment's activation)",
            "script": {
                "actions": {"onEnter": {"command": "bash", "args": ["{{Env.File.Enter}}", python]}},
                "embeddedFiles": [{"name": "Enter", "type": "TEXT", "data": ENTER_SCRIPT}],
            },
        }],
        "steps": [
            {
                "name": "Render",
                "description": "one changer render --frames A-B per task: resumes, writes atomically, locks its frames",
                "parameterSpace": {"taskParameterDefinitions": [{"name": "Frames", "type": "STRING",
                                                                 "range": job.chunks}]},
                "hostRequirements": {"amounts": [{"name": "amount.worker.vcpu", "min": job.cores},
                                                 {"name": "amount.worker.memory", "min": job.memory_gb * 1024}]},
                "script": {"actions": {"onRun": {
                    "command": python, "args": render[1:],
                    "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": NOTIFY_SECONDS},
                }}},
            },
            {
                "name": "Verify",
                "description": "changer verify: every frame present, readable, of one render (exit 3 if not)",
                "dependencies": [{"dependsOn": "Render"}],
                "script": {"actions": {"onRun": {"command": python, "args": verify[1:]}}},
            },
        ],
    }


def job_files(job: FarmJob) -> dict[str, str]:
    """``template.json``, the shot's parameter values in both engines' formats, and ``submit.txt``."""
    job_template = template(job)
    try:
        decode_job_template(template=job_template)
    except DecodeValidationError as exc:
        raise ParamError(f"the Open Job Description template is not valid: {exc}") from None
    _, values, _ = _parameters(job)
    deadline = {"parameterValues": [{"name": name, "value": value} for name, value in values.items()]}
    folder = shlex.quote(str(job.job_dir))
    submit = f"""{job.name}: Open Job Description job bundle, {len(job.chunks)} render task(s) of at most {job.chunk}
frame(s) (frames {job.frames}), then a verify step. The files must be on storage the workers see.

AWS Deadline Cloud (the deadline CLI; it reads template.json and parameter_values.json from this folder):
  deadline bundle submit {folder} --farm-id FARM --queue-id QUEUE \\
      --max-retries-per-task {job.max_retries}
Any other parameter value: -p Name=Value (e.g. -p tau=0.3, -p ChangerPython=/studio/venv/bin/python).

On this machine, with a worker's semantics (the openjd CLI of the farm extra), every task then verify:
  openjd run {folder}/template.json -p file://{folder}/params.json

Each task's log is its part of the session log (Deadline Cloud Monitor: the task's logs).

{RETRY_TEXT}
"""
    return {"template.json": json.dumps(job_template, indent=2) + "\n",
            "parameter_values.json": json.dumps(deadline, indent=2) + "\n",
            "params.json": json.dumps(values, indent=2) + "\n",
            "submit.txt": submit}
