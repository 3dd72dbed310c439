// The engine's process: one Python sidecar per host process, shared by every instance, spoken to in JSON lines.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "json.h"

namespace changer {

// The answer to one request. `crashed`: the sidecar died or could not start (it is restarted on the next call).
struct Reply {
  bool ok = false;
  bool aborted = false;
  bool crashed = false;
  std::string error;
  Json body;
};

// A POSIX shared-memory block for one render's pixels; the name is unlinked when the block is dropped.
class SharedBlock {
 public:
  explicit SharedBlock(size_t bytes);
  ~SharedBlock();
  SharedBlock(const SharedBlock &) = delete;
  SharedBlock &operator=(const SharedBlock &) = delete;

  bool ok() const { return data_ != nullptr; }
  float *floats() const { return static_cast<float *>(data_); }
  size_t size() const { return size_; }
  const std::string &name() const { return name_; }
  const std::string &error() const { return error_; }
  void unlink();

 private:
  std::string name_;
  std::string error_;
  void *data_ = nullptr;
  size_t size_ = 0;
  bool linked_ = false;
};

class Sidecar {
 public:
  static Sidecar &shared();

  // Where the bundle's Resources folder is (python.txt is read from it).
  void set_resources(const std::string &dir);
  // Sends {"op": op, "id": n, <fields>} and waits for the reply with id n, asking `aborted` every 50 ms;
  // an abort tells the sidecar to stop that request and returns at once (its late reply is skipped).
  Reply call(const std::string &op, const std::string &fields, const std::function<bool()> &aborted);
  // Closes the socket (the sidecar exits on end of file) and reaps the process.
  void shutdown();
  // The interpreter the next start would use, and where that choice came from.
  std::string interpreter(std::string *source) const;

 private:
  std::mutex mutex_;
  std::string resources_;
  pid_t pid_ = -1;
  int fd_ = -1;
  unsigned long next_id_ = 1;
  std::string buffer_;

  bool start(std::string &error);
  void stop(std::string *status);
  Reply exchange(unsigned long id, const std::string &line, const std::function<bool()> &aborted);
};

}  // namespace changer
