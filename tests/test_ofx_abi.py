"""The project's own OpenFX ABI header against the values the OpenFX specification documents.

The header (plugin/ofx/include/changer_ofx_abi.h) is written by hand from the published API; a
wrong string or status number would make a real host ignore a property or misread a reply, so every
constant is checked here against the documented value, and the suite layouts (member counts and
order of the function tables) are checked by compiling static assertions when a compiler exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ofx_shot import NO_COMPILER

HEADER = Path(__file__).resolve().parents[1] / "plugin" / "ofx" / "include" / "changer_ofx_abi.h"

#: Status codes as ofxCore.h documents them.
STATUS = {"kOfxStatOK": 0, "kOfxStatFailed": 1, "kOfxStatErrFatal": 2, "kOfxStatErrUnknown": 3,
          "kOfxStatErrMissingHostFeature": 4, "kOfxStatErrUnsupported": 5, "kOfxStatErrExists": 6,
          "kOfxStatErrFormat": 7, "kOfxStatErrMemory": 8, "kOfxStatErrBadHandle": 9, "kOfxStatErrBadIndex": 10,
          "kOfxStatErrValue": 11, "kOfxStatReplyYes": 12, "kOfxStatReplyNo": 13, "kOfxStatReplyDefault": 14,
          "kOfxImageEffectPluginApiVersion": 1}

#: String constants whose documented value is not simply the name without its leading "k".
IRREGULAR = {
    "kOfxImageEffectPluginApi": "OfxImageEffectPluginAPI",
    "kOfxImageEffectOutputClipName": "Output",
    "kOfxImageEffectSimpleSourceClipName": "Source",
    "kOfxImagePreMultiplied": "OfxImageAlphaPremultiplied",
    "kOfxColourspaceACEScg": "ACEScg",
    "kOfxColourspaceOfxLinear": "ofx_linear",
}


def defines() -> dict[str, str]:
    text = HEADER.read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"^#define (k\w+) (\"[^\"]*\"|\d+)$", text, re.MULTILINE)}


def test_every_constant_has_its_documented_value() -> None:
    found = defines()
    assert len(found) > 100
    for name, raw in found.items():
        if name in STATUS:
            assert int(raw) == STATUS[name], name
            continue
        value = raw.strip('"')
        # OpenFX names its strings after the constant: kOfxFoo is "OfxFoo"; per-clip prefixes end in "_".
        expected = IRREGULAR.get(name, name[1:])
        assert value == expected, f"{name} is {value!r}, documented {expected!r}"
    assert set(STATUS) <= set(found)


@pytest.mark.skipif(NO_COMPILER is not None, reason=NO_COMPILER or "")
def test_suite_layouts_compile(tmp_path: Path) -> None:
    checks = tmp_path / "layout.cpp"
    checks.write_text(f'#include "{HEADER}"\n' + """
#include <cstddef>
#define MEMBERS(T, n) static_assert(sizeof(T) == (n) * sizeof(void *), #T)
MEMBERS(OfxPropertySuiteV1, 18);
MEMBERS(OfxImageEffectSuiteV1, 13);
MEMBERS(OfxParameterSuiteV1, 18);
MEMBERS(OfxMemorySuiteV1, 2);
MEMBERS(OfxMultiThreadSuiteV1, 9);
MEMBERS(OfxMessageSuiteV2, 3);
MEMBERS(OfxHost, 2);
static_assert(offsetof(OfxImageEffectSuiteV1, abort) == 8 * sizeof(void *), "abort is the 9th member");
static_assert(offsetof(OfxParameterSuiteV1, paramGetValueAtTime) == 5 * sizeof(void *), "getValueAtTime");
static_assert(offsetof(OfxPropertySuiteV1, propGetString) == 9 * sizeof(void *), "propGetString");
static_assert(offsetof(OfxPlugin, setHost) == 4 * sizeof(void *), "setHost after the version numbers");
static_assert(sizeof(OfxRectD) == 4 * sizeof(double) && sizeof(OfxRectI) == 4 * sizeof(int), "rects");
""")
    done = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", str(checks)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
