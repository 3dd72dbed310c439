// The OpenFX entry points and the instance actions of the CHANGER Head Blend effect.
//
// Only OfxGetNumberOfPlugins and OfxGetPlugin are exported (exports.map). Every pixel is made by the
// Python sidecar (sidecar.h): this library hands it the clips' pixels in shared memory and the param
// values as JSON, then writes the render window of its answer into the host's output image.
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host.h"
#include "pixels.h"
#include "sidecar.h"

namespace changer {

namespace {

// A crashed sidecar is restarted; after this many crashes an instance says so and stops trying.
constexpr int kMaxCrashes = 3;

struct Instance {
  OfxImageEffectHandle handle = nullptr;
  std::string context;
  std::map<std::string, OfxImageClipHandle> clips;  // clip name -> handle (Output included)
  std::map<std::string, std::string> names;         // role -> clip name
  std::map<std::string, OfxParamHandle> params;     // param name -> handle (rgb "_auto" toggles included)
  int crashes = 0;
};

const Json &context_clips(const std::string &context) { return description()["contexts"][context]["clips"]; }

Instance *instance_of(OfxImageEffectHandle effect) {
  OfxPropertySetHandle props = nullptr;
  if (g_suites.effect->getPropertySet(effect, &props) != kOfxStatOK) return nullptr;
  void *data = nullptr;
  g_suites.prop->propGetPointer(props, kOfxPropInstanceData, 0, &data);
  return static_cast<Instance *>(data);
}

void persistent(Instance *in, const std::string &text) {
  std::fprintf(stderr, "CHANGER: %s\n", text.c_str());
  if (g_suites.persistent_messages)
    g_suites.message->setPersistentMessage(in->handle, kOfxMessageError, "changer", "%s", text.c_str());
  else if (g_suites.message)
    g_suites.message->message(in->handle, kOfxMessageError, "changer", "%s", text.c_str());
}

void clear_message(Instance *in) {
  if (g_suites.persistent_messages) g_suites.message->clearPersistentMessage(in->handle);
}

bool connected(Instance *in, const std::string &name) {
  auto found = in->clips.find(name);
  if (found == in->clips.end()) return false;
  OfxPropertySetHandle props = nullptr;
  g_suites.effect->clipGetPropertySet(found->second, &props);
  int value = 0;
  g_suites.prop->propGetInt(props, kOfxImageClipPropConnected, 0, &value);
  return value != 0;
}

std::string clip_string(OfxImageClipHandle clip, const char *property) {
  OfxPropertySetHandle props = nullptr;
  g_suites.effect->clipGetPropertySet(clip, &props);
  char *value = nullptr;
  if (g_suites.prop->propGetString(props, property, 0, &value) != kOfxStatOK || !value) return "";
  return value;
}

// The param values at `time` as a JSON object, named as plugin/params.py names them.
std::string param_values(Instance *in, OfxTime time) {
  const auto *param = g_suites.param;
  std::string out = "{";
  bool first = true;
  for (const Json &p : description()["params"].items) {
    const std::string &name = p["name"].str();
    const std::string &type = p["type"].str();
    OfxParamHandle h = in->params[name];
    std::string value = "null";
    if (type == "float") {
      double v = 0;
      param->paramGetValueAtTime(h, time, &v);
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      value = buf;
    } else if (type == "int") {
      int v = 0;
      param->paramGetValueAtTime(h, time, &v);
      value = std::to_string(v);
    } else if (type == "bool") {
      int v = 0;
      param->paramGetValueAtTime(h, time, &v);
      value = v ? "true" : "false";
    } else if (type == "choice") {
      int v = 0;
      param->paramGetValueAtTime(h, time, &v);
      const auto &choices = p["choices"].items;
      value = json_quote(v >= 0 && static_cast<size_t>(v) < choices.size() ? choices[v].str() : p["default"].str());
    } else if (type == "rgb") {
      int automatic = 0;
      if (p["default"].is_null()) param->paramGetValueAtTime(in->params[name + "_auto"], time, &automatic);
      if (!automatic) {
        double r = 0, g = 0, b = 0;
        param->paramGetValueAtTime(h, time, &r, &g, &b);
        char buf[160];
        std::snprintf(buf, sizeof buf, "[%.17g, %.17g, %.17g]", r, g, b);
        value = buf;
      }
    } else {
      char *v = nullptr;
      param->paramGetValueAtTime(h, time, &v);
      value = json_quote(v ? v : "");
    }
    out += (first ? "" : ", ") + json_quote(name) + ": " + value;
    first = false;
  }
  return out + "}";
}

// An image fetched from a clip, released when dropped (every image a render takes is given back).
struct HostImage {
  OfxPropertySetHandle handle = nullptr;
  ImageView view;
  std::string error;

  HostImage(OfxImageClipHandle clip, OfxTime time) {
    if (g_suites.effect->clipGetImage(clip, time, nullptr, &handle) != kOfxStatOK || !handle) {
      handle = nullptr;
      error = "the host gave no image";
      return;
    }
    const auto *prop = g_suites.prop;
    prop->propGetPointer(handle, kOfxImagePropData, 0, &view.data);
    int bounds[4] = {0, 0, 0, 0};
    prop->propGetIntN(handle, kOfxImagePropBounds, 4, bounds);
    view.x1 = bounds[0];
    view.y1 = bounds[1];
    view.x2 = bounds[2];
    view.y2 = bounds[3];
    prop->propGetInt(handle, kOfxImagePropRowBytes, 0, &view.row_bytes);
    char *depth = nullptr, *components = nullptr;
    prop->propGetString(handle, kOfxImageEffectPropPixelDepth, 0, &depth);
    prop->propGetString(handle, kOfxImageEffectPropComponents, 0, &components);
    std::string d = depth ? depth : "", c = components ? components : "";
    view.half = d == kOfxBitDepthHalf;
    view.channels = c == kOfxImageComponentAlpha ? 1 : c == kOfxImageComponentRGB ? 3 : 4;
    if (d != kOfxBitDepthFloat && d != kOfxBitDepthHalf) error = "pixel depth " + d + " (expected float or half)";
    else if (!view.data || view.width() <= 0 || view.height() <= 0) error = "an empty image";
  }
  ~HostImage() {
    if (handle) g_suites.effect->clipReleaseImage(handle);
  }
  HostImage(const HostImage &) = delete;
  HostImage &operator=(const HostImage &) = delete;
};

std::string bounds_json(const ImageView &v) {
  return "[" + std::to_string(v.x1) + ", " + std::to_string(v.y1) + ", " + std::to_string(v.x2) + ", " +
         std::to_string(v.y2) + "]";
}

// A failed call: a persistent message, and the crash count (the circuit breaker) when the sidecar died.
OfxStatus failed(Instance *in, const Reply &reply) {
  if (reply.aborted) return kOfxStatFailed;
  if (reply.crashed) {
    ++in->crashes;
    persistent(in, reply.error + (in->crashes >= kMaxCrashes
                                      ? "; it failed " + std::to_string(in->crashes) +
                                            " times, so this node stops trying (reload the project to retry)"
                                      : "; the next render restarts it (" + std::to_string(in->crashes) + " of " +
                                            std::to_string(kMaxCrashes) + " tries)"));
  } else {
    persistent(in, reply.error);
  }
  return kOfxStatFailed;
}

bool breaker_open(Instance *in) {
  if (in->crashes < kMaxCrashes) return false;
  persistent(in, "the engine crashed " + std::to_string(in->crashes) +
                     " times; this node stopped trying (reload the project to retry)");
  return true;
}

OfxStatus render(Instance *in, OfxPropertySetHandle in_args) {
  if (breaker_open(in)) return kOfxStatFailed;
  const auto *prop = g_suites.prop;
  OfxTime time = 0;
  prop->propGetDouble(in_args, kOfxPropTime, 0, &time);
  int window[4] = {0, 0, 0, 0};
  prop->propGetIntN(in_args, kOfxImageEffectPropRenderWindow, 4, window);
  double scale[2] = {1.0, 1.0};
  prop->propGetDoubleN(in_args, kOfxImageEffectPropRenderScale, 2, scale);

  HostImage output(in->clips[kOfxImageEffectOutputClipName], time);
  if (!output.error.empty()) {
    persistent(in, "output image: " + output.error);
    return kOfxStatFailed;
  }
  const std::string target = in->names["target"];
  std::vector<std::pair<std::string, std::unique_ptr<HostImage>>> inputs;
  size_t floats = 0;
  for (const Json &c : context_clips(in->context).items) {
    const std::string &name = c["name"].str();
    if (!connected(in, name)) continue;
    auto image = std::make_unique<HostImage>(in->clips[name], time);
    if (!image->error.empty()) {
      persistent(in, "clip " + name + ": " + image->error);
      return kOfxStatFailed;
    }
    floats += static_cast<size_t>(image->view.width()) * image->view.height() * image->view.channels;
    inputs.emplace_back(name, std::move(image));
  }
  const ImageView *frame = nullptr;
  for (auto &entry : inputs)
    if (entry.first == target) frame = &entry.second->view;
  if (!frame) {
    persistent(in, "clip " + target + " is not connected");
    return kOfxStatFailed;
  }
  const ImageView f = *frame;
  const size_t output_floats = static_cast<size_t>(f.width()) * f.height() * 4;
  SharedBlock block((floats + output_floats) * sizeof(float));
  if (!block.ok()) {
    persistent(in, "shared memory: " + block.error());
    return kOfxStatFailed;
  }
  std::string clips = "{";
  size_t offset = 0;
  for (auto &entry : inputs) {
    const ImageView &v = entry.second->view;
    copy_in(v, block.floats() + offset);
    clips += (offset ? ", " : "") + json_quote(entry.first) + ": {\"offset\": " + std::to_string(offset * sizeof(float)) +
             ", \"bounds\": " + bounds_json(v) + ", \"channels\": " + std::to_string(v.channels) + "}";
    offset += static_cast<size_t>(v.width()) * v.height() * v.channels;
    entry.second.reset();  // given back to the host as soon as its pixels are copied
  }
  clips += "}";
  std::string colourspace = clip_string(in->clips[target], kOfxImageClipPropColourspace);
  char scales[96];
  std::snprintf(scales, sizeof scales, "[%.17g, %.17g]", scale[0], scale[1]);
  char when[40];
  std::snprintf(when, sizeof when, "%.17g", time);
  std::string fields = "\"context\": " + json_quote(in->context) + ", \"time\": " + when + ", \"scale\": " + scales +
                       ", \"params\": " + param_values(in, time) + ", \"colourspace\": " + json_quote(colourspace) +
                       ", \"shm\": " + json_quote(block.name()) + ", \"size\": " + std::to_string(block.size()) +
                       ", \"frame\": " + bounds_json(f) + ", \"clips\": " + clips +
                       ", \"output\": " + std::to_string(offset * sizeof(float));
  OfxImageEffectHandle handle = in->handle;
  Reply reply = Sidecar::shared().call("render", fields, [handle] { return g_suites.effect->abort(handle) != 0; });
  block.unlink();
  if (!reply.ok) return failed(in, reply);
  in->crashes = 0;
  clear_message(in);
  copy_out(block.floats() + offset, f.x1, f.y1, f.x2, f.y2, window, output.view);
  return kOfxStatOK;
}

OfxStatus begin_sequence(Instance *in) {
  if (breaker_open(in)) return kOfxStatFailed;
  Reply reply = Sidecar::shared().call("begin", "\"params\": " + param_values(in, 0.0), nullptr);
  return reply.ok ? kOfxStatOK : failed(in, reply);
}

OfxStatus create_instance(OfxImageEffectHandle effect) {
  auto in = std::make_unique<Instance>();
  in->handle = effect;
  OfxPropertySetHandle props = nullptr;
  g_suites.effect->getPropertySet(effect, &props);
  char *ofx_context = nullptr;
  g_suites.prop->propGetString(props, kOfxImageEffectPropContext, 0, &ofx_context);
  in->context = context_name(ofx_context ? ofx_context : "");
  OfxImageClipHandle clip = nullptr;
  g_suites.effect->clipGetHandle(effect, kOfxImageEffectOutputClipName, &clip, nullptr);
  in->clips[kOfxImageEffectOutputClipName] = clip;
  for (const Json &c : context_clips(in->context).items) {
    g_suites.effect->clipGetHandle(effect, c["name"].str().c_str(), &clip, nullptr);
    in->clips[c["name"].str()] = clip;
    in->names[c["role"].str()] = c["name"].str();
  }
  OfxParamSetHandle params = nullptr;
  g_suites.effect->getParamSet(effect, &params);
  for (const Json &p : description()["params"].items) {
    std::vector<std::string> names = {p["name"].str()};
    if (p["type"].str() == "rgb" && p["default"].is_null()) names.push_back(p["name"].str() + "_auto");
    for (const auto &name : names) {
      OfxParamHandle handle = nullptr;
      g_suites.param->paramGetHandle(params, name.c_str(), &handle, nullptr);
      in->params[name] = handle;
    }
  }
  g_suites.prop->propSetPointer(props, kOfxPropInstanceData, 0, in.release());
  return kOfxStatOK;
}

OfxStatus instance_action(const std::string &action, OfxImageEffectHandle effect, OfxPropertySetHandle in_args,
                          OfxPropertySetHandle out_args) {
  Instance *in = instance_of(effect);
  if (!in) return kOfxStatErrBadHandle;
  const auto *prop = g_suites.prop;
  const std::string target = in->names["target"];
  if (action == kOfxActionDestroyInstance) {
    OfxPropertySetHandle props = nullptr;
    g_suites.effect->getPropertySet(effect, &props);
    prop->propSetPointer(props, kOfxPropInstanceData, 0, nullptr);
    delete in;
    return kOfxStatOK;
  }
  if (action == kOfxImageEffectActionRender) return render(in, in_args);
  if (action == kOfxImageEffectActionBeginSequenceRender) return begin_sequence(in);
  if (action == kOfxImageEffectActionEndSequenceRender) return kOfxStatOK;
  if (action == kOfxImageEffectActionGetRegionOfDefinition) {
    if (!connected(in, target)) return kOfxStatReplyDefault;
    OfxTime time = 0;
    prop->propGetDouble(in_args, kOfxPropTime, 0, &time);
    OfxRectD rod{};
    g_suites.effect->clipGetRegionOfDefinition(in->clips[target], time, &rod);
    prop->propSetDoubleN(out_args, kOfxImageEffectPropRegionOfDefinition, 4, &rod.x1);
    return kOfxStatOK;
  }
  if (action == kOfxImageEffectActionGetRegionsOfInterest) {
    OfxTime time = 0;
    prop->propGetDouble(in_args, kOfxPropTime, 0, &time);
    for (const Json &c : context_clips(in->context).items) {  // no tiles: every input is needed whole
      const std::string &name = c["name"].str();
      if (!connected(in, name)) continue;
      OfxRectD rod{};
      g_suites.effect->clipGetRegionOfDefinition(in->clips[name], time, &rod);
      prop->propSetDoubleN(out_args, (std::string(kOfxImageClipPropRoI_) + name).c_str(), 4, &rod.x1);
    }
    return kOfxStatOK;
  }
  if (action == kOfxImageEffectActionGetClipPreferences) {
    int choice = 0;
    g_suites.param->paramGetValue(in->params["output"], &choice);
    std::string mode = "comp";
    for (const Json &p : description()["params"].items)
      if (p["name"].str() == "output" && choice >= 0 && static_cast<size_t>(choice) < p["choices"].items.size())
        mode = p["choices"].items[choice].str();
    prop->propSetString(out_args, kOfxImageEffectPropPreMultiplication, 0,
                        mode == "comp" || mode == "aovs" ? kOfxImagePreMultiplied : kOfxImageOpaque);
    prop->propSetString(out_args, (std::string(kOfxImageClipPropComponents_) + kOfxImageEffectOutputClipName).c_str(),
                        0, kOfxImageComponentRGBA);
    char *working = nullptr;
    g_suites.param->paramGetValue(in->params["working_space"], &working);
    for (const Json &c : context_clips(in->context).items) {  // image clips in the working space; mattes raw
      if (c["is_mask"].boolean) continue;
      std::string key = std::string(kOfxImageClipPropPreferredColourspaces) + "_" + c["name"].str();
      prop->propSetString(out_args, key.c_str(), 0, working && *working ? working : kOfxColourspaceACEScg);
    }
    return kOfxStatOK;
  }
  if (action == kOfxImageEffectActionGetOutputColourspace) {
    prop->propSetString(out_args, kOfxImageClipPropColourspace, 0, ("OfxColourspace_" + target).c_str());
    return kOfxStatOK;
  }
  if (action == kOfxImageEffectActionIsIdentity) {
    // The Target passes through until the actor's plate is connected; an unconnected head matte is made
    // from its plate by the effect (HeadBlendEffect._unconnected says the same).
    if (connected(in, in->names["source"])) return kOfxStatReplyDefault;
    OfxTime time = 0;
    prop->propGetDouble(in_args, kOfxPropTime, 0, &time);
    prop->propSetString(out_args, kOfxPropName, 0, target.c_str());
    prop->propSetDouble(out_args, kOfxPropTime, 0, time);
    return kOfxStatOK;
  }
  if (action == kOfxActionInstanceChanged) {
    if (in->crashes < kMaxCrashes) clear_message(in);
    return kOfxStatOK;
  }
  return kOfxStatReplyDefault;
}

OfxStatus load() {
  OfxHost *host = g_suites.host;
  if (!host) return kOfxStatErrMissingHostFeature;
  g_suites.prop = static_cast<const OfxPropertySuiteV1 *>(host->fetchSuite(host->host, kOfxPropertySuite, 1));
  g_suites.effect = static_cast<const OfxImageEffectSuiteV1 *>(host->fetchSuite(host->host, kOfxImageEffectSuite, 1));
  g_suites.param = static_cast<const OfxParameterSuiteV1 *>(host->fetchSuite(host->host, kOfxParameterSuite, 1));
  g_suites.message = static_cast<const OfxMessageSuiteV2 *>(host->fetchSuite(host->host, kOfxMessageSuite, 2));
  g_suites.persistent_messages = g_suites.message != nullptr;
  if (!g_suites.message)  // V1 has only message(), the first member of V2
    g_suites.message = static_cast<const OfxMessageSuiteV2 *>(host->fetchSuite(host->host, kOfxMessageSuite, 1));
  if (!g_suites.prop || !g_suites.effect || !g_suites.param) return kOfxStatErrMissingHostFeature;
  std::string error;
  if (!load_description(error)) {
    std::fprintf(stderr, "CHANGER: %s; rebuild the bundle with 'changer ofx build'\n", error.c_str());
    return kOfxStatFailed;
  }
  Sidecar::shared().set_resources(resources_dir());
  return kOfxStatOK;
}

OfxStatus main_entry(const char *action, const void *handle, OfxPropertySetHandle in_args,
                     OfxPropertySetHandle out_args) {
  try {
    const std::string a = action ? action : "";
    auto effect = static_cast<OfxImageEffectHandle>(const_cast<void *>(handle));
    if (a == kOfxActionLoad) return load();
    if (a == kOfxActionUnload) {
      Sidecar::shared().shutdown();
      return kOfxStatOK;
    }
    if (a == kOfxActionDescribe) return describe(effect);
    if (a == kOfxImageEffectActionDescribeInContext) return describe_in_context(effect, in_args);
    if (a == kOfxActionCreateInstance) return create_instance(effect);
    return instance_action(a, effect, in_args, out_args);
  } catch (const std::exception &exc) {
    std::fprintf(stderr, "CHANGER: %s: %s\n", action ? action : "?", exc.what());
    return kOfxStatErrUnknown;
  }
}

void set_host(OfxHost *host) { g_suites.host = host; }

// The identifier and version come from the description too; without it the host is told the plug-in's
// name only, and the load action reports the missing file.
OfxPlugin *plugin() {
  static std::string identifier = "org.changer.HeadBlend";
  static OfxPlugin entry = {kOfxImageEffectPluginApi, kOfxImageEffectPluginApiVersion, nullptr, 0, 0, set_host,
                            main_entry};
  std::string error;
  if (!entry.pluginIdentifier && load_description(error)) {
    identifier = description()["identifier"].str();
    entry.pluginVersionMajor = static_cast<unsigned>(description()["version"].items.at(0).number);
    entry.pluginVersionMinor = static_cast<unsigned>(description()["version"].items.at(1).number);
  }
  entry.pluginIdentifier = identifier.c_str();
  return &entry;
}

}  // namespace

}  // namespace changer

extern "C" {
__attribute__((visibility("default"))) int OfxGetNumberOfPlugins(void) { return 1; }
__attribute__((visibility("default"))) OfxPlugin *OfxGetPlugin(int nth) {
  return nth == 0 ? changer::plugin() : nullptr;
}
}
