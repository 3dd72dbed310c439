// A minimal JSON reader and string escaper: the plug-in reads its description file and the sidecar's replies.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace changer {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0.0;
  std::string text;
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  bool is_null() const { return kind == Kind::Null; }
  // The field `name` of an object, or a null value when absent.
  const Json &operator[](const std::string &name) const;
  const std::string &str() const { return text; }
};

// Parses `text`; throws std::runtime_error naming the offset on malformed input.
Json parse_json(const std::string &text);

// `value` as a quoted JSON string.
std::string json_quote(const std::string &value);

}  // namespace changer
