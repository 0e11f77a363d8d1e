#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace smppgw::testsupport {

namespace {

using Clock = std::chrono::steady_clock;

int pidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

std::string tempPath(const std::string& stem) {
  static std::atomic<unsigned> counter{0};
  const char* dir = std::getenv("TMPDIR");
  std::string base = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  return base + "/smppgw-" + stem + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++);
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<uint64_t> residentBytes(pid_t pid) {
  const std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  const size_t pos = status.find("\nVmRSS:");
  if (pos == std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  const unsigned long long kib = std::strtoull(status.c_str() + pos + 7, &end, 10);
  if (end == status.c_str() + pos + 7) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(kib) * 1024;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    if (::waitpid(pid_, &st, 0) == pid_) {
      reap(st);
    }
  }
  cleanup();
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept {
  *this = std::move(o);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    pid_ = o.pid_;
    reaped_ = o.reaped_;
    exit_code_ = o.exit_code_;
    term_signal_ = o.term_signal_;
    out_path_ = std::move(o.out_path_);
    err_path_ = std::move(o.err_path_);
    o.pid_ = -1;
    o.out_path_.clear();
    o.err_path_.clear();
  }
  return *this;
}

void ChildProcess::cleanup() {
  if (!out_path_.empty()) {
    ::unlink(out_path_.c_str());
  }
  if (!err_path_.empty()) {
    ::unlink(err_path_.c_str());
  }
}

bool ChildProcess::start(const std::string& path, const std::vector<std::string>& args,
                         std::string* error) {
  out_path_ = tempPath("stdout");
  err_path_ = tempPath("stderr");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // Nothing else of the test's: a child that outlives a killed test must not keep its files open
  // (e.g. a flock taken around the test run, which would then never be released).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    if (error != nullptr) {
      *error = "posix_spawn " + path + ": " + std::strerror(rc);
    }
    return false;
  }
  pid_ = pid;
  reaped_ = false;
  return true;
}

void ChildProcess::reap(int st) {
  reaped_ = true;
  if (WIFEXITED(st)) {
    exit_code_ = WEXITSTATUS(st);
    term_signal_ = 0;
  } else if (WIFSIGNALED(st)) {
    exit_code_ = -1;
    term_signal_ = WTERMSIG(st);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0 || reaped_) {
    return false;
  }
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reap(st);
    return false;
  }
  return r == 0;
}

bool ChildProcess::signal(int sig) {
  if (!running()) {
    return false;
  }
  return ::kill(pid_, sig) == 0;
}

bool ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return false;
  }
  if (!running()) {
    return reaped_;
  }
  const auto deadline = Clock::now() + timeout;
  // A pidfd becomes readable when the child exits: a real event wait, no polling.
  const int fd = pidfdOpen(pid_);
  while (running()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      break;
    }
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long long>(left, 5)));
    }
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return reaped_;
}

bool ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) {
    return reaped_;
  }
  signal(SIGTERM);
  if (wait(grace)) {
    return true;
  }
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
  }
  return false;
}

std::string ChildProcess::out() const {
  return readFile(out_path_);
}
std::string ChildProcess::err() const {
  return readFile(err_path_);
}

std::optional<uint16_t> ChildProcess::waitForPortFile(const std::string& path,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const std::string text = readFile(path);
    if (!text.empty() && text.back() == '\n') {
      const long v = std::strtol(text.c_str(), nullptr, 10);
      if (v > 0 && v < 65536) {
        return static_cast<uint16_t>(v);
      }
    }
    if (!running() || Clock::now() >= deadline) {
      return std::nullopt;
    }
    // Bounded polling: the file is written once, atomically (rename), within milliseconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace smppgw::testsupport
