"""The ``opencue`` engine: an OpenCue job spec built with pyoutline (what Cuebot's launchSpec takes).

One ``render`` layer over the job's frames in chunks, its command ``changer render --frames #FRAMESPEC#`` (Cuebot
replaces the token with each chunk's frames, in the ``1-10`` / ``1-9x2`` syntax ``--frames`` reads), with the
service and the cores (``--workers``) and memory it needs; one ``verify`` frame after the whole layer. pyoutline
joins a layer's command with spaces and RQD runs it through a shell, so the command is one shell-quoted string.
Serialising needs no Cuebot; pyoutline's setup writes a session folder that only its own launcher reads, so it
goes to a temporary folder.
"""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import replace

import outline
import outline.config
import outline.cuerun
from outline.modules.shell import Shell, ShellCommand

from .farm import RETRY_TEXT, FarmJob

#: Cuebot replaces this in a layer's command with the frames of each chunk.
FRAMESPEC = "#FRAMESPEC#"


def spec(job: FarmJob) -> str:
    """The job spec XML."""
    options = job.options
    ol = outline.Outline(job.name, frame_range=job.frames, show=job.show, shot=job.shot)
    render = Shell("render", command=shlex.join(job.render_argv(replace(options, frames=FRAMESPEC))),
                   range=job.frames, chunk=job.chunk, cores=job.cores, threadable=False,
                   memory=f"{job.memory_gb}g", service=job.service)
    verify = ShellCommand("verify", command=shlex.join(job.verify_argv(options.out or "")), service=job.service)
    verify.depend_all(render)
    ol.add_layer(render)
    ol.add_layer(verify)
    with tempfile.TemporaryDirectory(prefix="changer-outline-") as session:
        outline.config.set("outline", "session_dir", session)
        return outline.cuerun.OutlineLauncher(ol, maxretries=job.max_retries).serialize(use_pycuerun=False)


def job_files(job: FarmJob) -> dict[str, str]:
    """``job.xml`` (the spec) and ``submit.txt``."""
    xml = spec(job)
    path = shlex.quote(str(job.job_dir / "job.xml"))
    submit = f"""{job.name}: OpenCue job spec, layer render ({len(job.chunks)} chunk(s) of at most {job.chunk} frame(s),
frames {job.frames}, service {job.service}, {job.cores} core(s), {job.memory_gb} GB) then layer verify. The files
must be on storage the render hosts see; the spec names this machine's user and uid.

Submit with pycue (the farm extra), to the Cuebot of CUEBOT_HOSTS:
  CUEBOT_HOSTS=cuebot.example.com python -c \\
      'import sys, opencue; print(opencue.api.launchSpec(open(sys.argv[1]).read()))' {path}

RQD writes each chunk's log (one .rqlog per chunk) in the job's log folder; CueGUI shows it per frame.

{RETRY_TEXT} The spec asks Cuebot for {job.max_retries} retries per chunk.
"""
    return {"job.xml": xml + "\n", "submit.txt": submit}
