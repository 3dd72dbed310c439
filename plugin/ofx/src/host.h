// The host's suites and the bundle's description, shared by the plug-in's source files.
#pragma once

#include <string>

#include "changer_ofx_abi.h"
#include "json.h"

namespace changer {

struct Suites {
  OfxHost *host = nullptr;
  const OfxPropertySuiteV1 *prop = nullptr;
  const OfxImageEffectSuiteV1 *effect = nullptr;
  const OfxParameterSuiteV1 *param = nullptr;
  const OfxMessageSuiteV2 *message = nullptr;  // V2 when the host has it (persistent messages)
  bool persistent_messages = false;
};

extern Suites g_suites;

// The bundle's Contents/Resources folder (absolute), found from this library's own path.
const std::string &resources_dir();
// Resources/changer_ofx.json: the effect, its clips per context and the ONE param list (generated at build time).
const Json &description();
// Loads the description; false with `error` set when the file is missing or malformed.
bool load_description(std::string &error);

OfxStatus describe(OfxImageEffectHandle effect);
OfxStatus describe_in_context(OfxImageEffectHandle effect, OfxPropertySetHandle in_args);

// The OpenFX name of a context ("general", "filter") and back.
std::string context_name(const std::string &ofx_context);

}  // namespace changer
