// The describe actions: the effect, its clips and its params, all read from Resources/changer_ofx.json.
//
// The JSON is written at build time by `changer ofx build` from plugin/params.py and plugin/descriptor.py,
// so the host's knobs are the params of the CLI, the TOML shot files and the review panel, and
// describing never starts Python.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "host.h"

namespace changer {

Suites g_suites;

namespace {

Json g_description;
bool g_loaded = false;

const char *component(const std::string &name) {
  if (name == "RGB") return kOfxImageComponentRGB;
  if (name == "Alpha") return kOfxImageComponentAlpha;
  return kOfxImageComponentRGBA;
}

void set_string(OfxPropertySetHandle props, const char *name, const std::string &value) {
  g_suites.prop->propSetString(props, name, 0, value.c_str());
}

void define_param(OfxParamSetHandle params, const Json &p) {
  const auto *prop = g_suites.prop;
  const std::string &type = p["type"].str();
  const std::string &name = p["name"].str();
  const char *ofx_type = kOfxParamTypeString;
  if (type == "float") ofx_type = kOfxParamTypeDouble;
  if (type == "int") ofx_type = kOfxParamTypeInteger;
  if (type == "bool") ofx_type = kOfxParamTypeBoolean;
  if (type == "choice") ofx_type = kOfxParamTypeChoice;
  if (type == "rgb") ofx_type = kOfxParamTypeRGB;
  OfxPropertySetHandle props = nullptr;
  if (g_suites.param->paramDefine(params, ofx_type, name.c_str(), &props) != kOfxStatOK || !props) return;
  set_string(props, kOfxPropLabel, p["label"].str());
  set_string(props, kOfxParamPropHint, p["hint"].str());
  set_string(props, kOfxParamPropScriptName, name);
  const Json &dflt = p["default"];
  if (type == "float" || type == "int") {
    const bool is_int = type == "int";
    auto set = [&](const char *key, const Json &value) {
      if (value.is_null()) return;
      if (is_int) prop->propSetInt(props, key, 0, static_cast<int>(value.number));
      else prop->propSetDouble(props, key, 0, value.number);
    };
    set(kOfxParamPropDefault, dflt);
    set(kOfxParamPropMin, p["minimum"]);
    set(kOfxParamPropMax, p["maximum"]);
    set(kOfxParamPropDisplayMin, p["display_min"]);
    set(kOfxParamPropDisplayMax, p["display_max"]);
  } else if (type == "bool") {
    prop->propSetInt(props, kOfxParamPropDefault, 0, dflt.boolean ? 1 : 0);
  } else if (type == "choice") {
    const auto &choices = p["choices"].items;
    for (size_t i = 0; i < choices.size(); ++i) {
      prop->propSetString(props, kOfxParamPropChoiceOption, static_cast<int>(i), choices[i].str().c_str());
      if (choices[i].str() == dflt.str()) prop->propSetInt(props, kOfxParamPropDefault, 0, static_cast<int>(i));
    }
    prop->propSetInt(props, kOfxParamPropAnimates, 0, 0);
  } else if (type == "rgb") {
    for (size_t i = 0; i < 3; ++i) {
      double value = dflt.items.size() == 3 ? dflt.items[i].number : 0.0;
      prop->propSetDouble(props, kOfxParamPropDefault, static_cast<int>(i), value);
    }
  } else {
    set_string(props, kOfxParamPropDefault, dflt.str());
    set_string(props, kOfxParamPropStringMode, type == "path" ? kOfxParamStringIsFilePath : kOfxParamStringIsSingleLine);
    prop->propSetInt(props, kOfxParamPropAnimates, 0, 0);
  }
}

}  // namespace

const std::string &resources_dir() {
  static const std::string dir = [] {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void *>(&resources_dir), &info) || !info.dli_fname) return std::string();
    char resolved[PATH_MAX];
    // dladdr returns the path the host passed to dlopen, which may be relative: make it absolute.
    std::string library = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
    std::string arch_dir = library.substr(0, library.rfind('/'));            // Contents/Linux-x86-64
    return arch_dir.substr(0, arch_dir.rfind('/')) + "/Resources";           // Contents/Resources
  }();
  return dir;
}

const Json &description() { return g_description; }

bool load_description(std::string &error) {
  if (g_loaded) return true;
  std::string path = resources_dir() + "/changer_ofx.json";
  std::ifstream file(path);
  if (!file) {
    error = "cannot read " + path;
    return false;
  }
  std::stringstream text;
  text << file.rdbuf();
  try {
    g_description = parse_json(text.str());
  } catch (const std::exception &exc) {
    error = path + ": " + exc.what();
    return false;
  }
  g_loaded = true;
  return true;
}

std::string context_name(const std::string &ofx_context) {
  return ofx_context == kOfxImageEffectContextFilter ? "filter" : "general";
}

OfxStatus describe(OfxImageEffectHandle effect) {
  const auto *prop = g_suites.prop;
  const Json &d = description();
  OfxPropertySetHandle props = nullptr;
  if (g_suites.effect->getPropertySet(effect, &props) != kOfxStatOK) return kOfxStatErrBadHandle;
  set_string(props, kOfxPropLabel, d["label"].str());
  set_string(props, kOfxImageEffectPluginPropGrouping, d["grouping"].str());
  set_string(props, kOfxPropPluginDescription, d["description"].str());
  int version[2] = {static_cast<int>(d["version"].items.at(0).number), static_cast<int>(d["version"].items.at(1).number)};
  prop->propSetIntN(props, kOfxPropVersion, 2, version);
  prop->propSetString(props, kOfxImageEffectPropSupportedContexts, 0, kOfxImageEffectContextGeneral);
  prop->propSetString(props, kOfxImageEffectPropSupportedContexts, 1, kOfxImageEffectContextFilter);
  prop->propSetString(props, kOfxImageEffectPropSupportedPixelDepths, 0, kOfxBitDepthFloat);
  prop->propSetString(props, kOfxImageEffectPropSupportedPixelDepths, 1, kOfxBitDepthHalf);
  prop->propSetInt(props, kOfxImageEffectPropSupportsTiles, 0, 0);
  prop->propSetInt(props, kOfxImageEffectPropSupportsMultiResolution, 0, 0);
  prop->propSetInt(props, kOfxImageEffectPropSupportsMultipleClipDepths, 0, 0);
  prop->propSetInt(props, kOfxImageEffectPropTemporalClipAccess, 0, 0);
  prop->propSetInt(props, kOfxImageEffectPluginPropHostFrameThreading, 0, 0);
  set_string(props, kOfxImageEffectPluginRenderThreadSafety, kOfxImageEffectRenderInstanceSafe);
  // OpenFX 1.5 colour management: the node works in one scene-linear working space (ACEScg by default).
  set_string(props, kOfxImageEffectPropColourManagementStyle, kOfxImageEffectPropColourManagementCore);
  return kOfxStatOK;
}

OfxStatus describe_in_context(OfxImageEffectHandle effect, OfxPropertySetHandle in_args) {
  const auto *prop = g_suites.prop;
  char *ofx_context = nullptr;
  prop->propGetString(in_args, kOfxImageEffectPropContext, 0, &ofx_context);
  const Json &context = description()["contexts"][context_name(ofx_context ? ofx_context : "")];
  OfxPropertySetHandle clip = nullptr;
  g_suites.effect->clipDefine(effect, kOfxImageEffectOutputClipName, &clip);
  prop->propSetString(clip, kOfxImageEffectPropSupportedComponents, 0, kOfxImageComponentRGBA);
  prop->propSetInt(clip, kOfxImageEffectPropSupportsTiles, 0, 0);
  for (const Json &c : context["clips"].items) {
    g_suites.effect->clipDefine(effect, c["name"].str().c_str(), &clip);
    const auto &components = c["components"].items;
    for (size_t i = 0; i < components.size(); ++i)
      prop->propSetString(clip, kOfxImageEffectPropSupportedComponents, static_cast<int>(i), component(components[i].str()));
    set_string(clip, kOfxPropLabel, c["label"].str());
    prop->propSetInt(clip, kOfxImageClipPropOptional, 0, c["optional"].boolean ? 1 : 0);
    prop->propSetInt(clip, kOfxImageClipPropIsMask, 0, c["is_mask"].boolean ? 1 : 0);
    prop->propSetInt(clip, kOfxImageEffectPropSupportsTiles, 0, 0);
  }
  OfxParamSetHandle params = nullptr;
  if (g_suites.effect->getParamSet(effect, &params) != kOfxStatOK) return kOfxStatErrBadHandle;
  struct Page {
    std::string label, id;
    std::vector<std::string> children;
  };
  std::vector<Page> pages;
  for (const Json &page : description()["pages"].items) pages.push_back({page["label"].str(), page["id"].str(), {}});
  for (const Json &p : description()["params"].items) {
    define_param(params, p);
    for (auto &page : pages)
      if (page.label == p["page"].str()) page.children.push_back(p["name"].str());
    if (p["type"].str() == "rgb" && p["default"].is_null()) {  // "automatic": a toggle beside the colour
      OfxPropertySetHandle props = nullptr;
      std::string toggle = p["name"].str() + "_auto";
      g_suites.param->paramDefine(params, kOfxParamTypeBoolean, toggle.c_str(), &props);
      set_string(props, kOfxPropLabel, p["label"].str() + " Auto");
      set_string(props, kOfxParamPropHint, "On: " + p["label"].str() + " is automatic and the colour is ignored.");
      prop->propSetInt(props, kOfxParamPropDefault, 0, 1);
      for (auto &page : pages)
        if (page.label == p["page"].str()) page.children.push_back(toggle);
    }
  }
  for (const auto &page : pages) {
    OfxPropertySetHandle props = nullptr;
    g_suites.param->paramDefine(params, kOfxParamTypePage, page.id.c_str(), &props);
    set_string(props, kOfxPropLabel, page.label);
    for (size_t i = 0; i < page.children.size(); ++i)
      prop->propSetString(props, kOfxParamPropPageChild, static_cast<int>(i), page.children[i].c_str());
  }
  return kOfxStatOK;
}

}  // namespace changer
