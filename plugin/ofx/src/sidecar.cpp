// Starting, talking to and stopping the Python sidecar; shared memory for pixels.
//
// posix_spawn, not fork: a host is threaded and fork would copy its locks. The sidecar's end of a
// socketpair becomes its fd 3; it exits on end of file, so a host that dies takes it along.
#include "sidecar.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

extern char **environ;

namespace changer {

namespace {

constexpr int kSidecarFd = 3;
constexpr int kPollMs = 50;
constexpr const char *kInterpreterEnv = "CHANGER_OFX_PYTHON";

std::atomic<unsigned long> g_block_counter{0};

std::string trim(const std::string &text) {
  size_t a = text.find_first_not_of(" \t\r\n");
  size_t b = text.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : text.substr(a, b - a + 1);
}

bool send_all(int fd, const std::string &data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
  return "stopped";
}

}  // namespace

SharedBlock::SharedBlock(size_t bytes) : size_(bytes) {
  name_ = "/changer-ofx-" + std::to_string(::getpid()) + "-" + std::to_string(++g_block_counter);
  int fd = ::shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    error_ = std::string("shm_open ") + name_ + ": " + std::strerror(errno);
    return;
  }
  linked_ = true;
  if (::ftruncate(fd, static_cast<off_t>(bytes ? bytes : 1)) != 0) {
    error_ = std::string("ftruncate ") + name_ + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  void *data = ::mmap(nullptr, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (data == MAP_FAILED) {
    error_ = std::string("mmap ") + name_ + ": " + std::strerror(errno);
    return;
  }
  data_ = data;
}

void SharedBlock::unlink() {
  if (linked_) ::shm_unlink(name_.c_str());  // ENOENT when the sidecar unlinked it first: fine
  linked_ = false;
}

SharedBlock::~SharedBlock() {
  if (data_) ::munmap(data_, size_ ? size_ : 1);
  unlink();
}

Sidecar &Sidecar::shared() {
  static Sidecar instance;
  return instance;
}

void Sidecar::set_resources(const std::string &dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  resources_ = dir;
}

std::string Sidecar::interpreter(std::string *source) const {
  const char *env = std::getenv(kInterpreterEnv);
  if (env && *env) {
    if (source) *source = std::string("$") + kInterpreterEnv;
    return env;
  }
  std::ifstream file(resources_ + "/python.txt");
  std::string line;
  if (file && std::getline(file, line) && !trim(line).empty()) {
    if (source) *source = resources_ + "/python.txt";
    return trim(line);
  }
  if (source) *source = "the default (no $CHANGER_OFX_PYTHON, no Resources/python.txt)";
  return "python3";
}

bool Sidecar::start(std::string &error) {
  std::string source;
  std::string python = interpreter(&source);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    error = std::string("socketpair: ") + std::strerror(errno);
    return false;
  }
  int child = pair[1];
  if (child == kSidecarFd) {  // dup2 onto itself would keep close-on-exec set
    child = ::fcntl(pair[1], F_DUPFD_CLOEXEC, kSidecarFd + 1);
    ::close(pair[1]);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child, kSidecarFd);
  std::vector<std::string> args = {python, "-m", "changer.plugin.ofx.sidecar", "--fd", std::to_string(kSidecarFd)};
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(child);
  if (rc != 0) {
    ::close(pair[0]);
    error = "cannot start the engine with '" + python + "' (from " + source + "): " + std::strerror(rc) +
            "; set $CHANGER_OFX_PYTHON or run 'changer ofx install'";
    return false;
  }
  pid_ = pid;
  fd_ = pair[0];
  buffer_.clear();
  return true;
}

void Sidecar::stop(std::string *status) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (pid_ <= 0) return;
  int wstatus = 0;
  for (int i = 0; i < 100; ++i) {  // up to 5 s to exit on end of file
    pid_t done = ::waitpid(pid_, &wstatus, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) {
      if (status && done == pid_) *status = describe_status(wstatus);
      pid_ = -1;
      return;
    }
    ::usleep(kPollMs * 1000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &wstatus, 0);
  if (status) *status = "did not exit; killed";
  pid_ = -1;
}

void Sidecar::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop(nullptr);
}

Reply Sidecar::exchange(unsigned long id, const std::string &line, const std::function<bool()> &aborted) {
  Reply reply;
  if (!send_all(fd_, line)) {
    std::string status;
    stop(&status);
    reply.crashed = true;
    reply.error = "the engine process went away (" + (status.empty() ? std::string("no status") : status) + ")";
    return reply;
  }
  for (;;) {
    size_t newline;
    while ((newline = buffer_.find('\n')) != std::string::npos) {
      std::string text = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      Json body;
      try {
        body = parse_json(text);
      } catch (const std::exception &exc) {
        reply.error = std::string("unreadable reply from the engine: ") + exc.what();
        return reply;
      }
      if (static_cast<unsigned long>(body["id"].number) != id) continue;  // a late reply to an aborted request
      reply.ok = body["ok"].boolean;
      reply.aborted = body["aborted"].boolean;
      reply.error = body["error"].str();
      reply.body = body;
      return reply;
    }
    if (aborted && aborted()) {
      send_all(fd_, "{\"op\": \"abort\", \"id\": " + std::to_string(id) + "}\n");
      reply.aborted = true;
      reply.error = "aborted by the host";
      return reply;
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, kPollMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string status;
      stop(&status);
      reply.crashed = true;
      reply.error = "the engine process died (" + (status.empty() ? std::string("no status") : status) + ")";
      return reply;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Reply Sidecar::call(const std::string &op, const std::string &fields, const std::function<bool()> &aborted) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pid_ <= 0) {
    Reply failed;
    failed.crashed = true;
    if (!start(failed.error)) return failed;
    const unsigned long hello_id = next_id_++;
    Reply hello = exchange(hello_id, "{\"op\": \"hello\", \"id\": " + std::to_string(hello_id) + "}\n", aborted);
    if (!hello.ok) {
      if (hello.aborted) stop(nullptr);
      std::string source;
      std::string python = interpreter(&source);
      hello.crashed = true;
      hello.error = "the engine did not start with '" + python + "' (from " + source + "): " + hello.error +
                    "; its stderr says why (is changer installed in that Python? 'changer ofx install' writes "
                    "python.txt)";
      return hello;
    }
  }
  unsigned long id = next_id_++;
  std::string line = "{\"op\": " + json_quote(op) + ", \"id\": " + std::to_string(id);
  if (!fields.empty()) line += ", " + fields;
  line += "}\n";
  return exchange(id, line, aborted);
}

}  // namespace changer
