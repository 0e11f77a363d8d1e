#pragma once
// Child processes for integration tests: start a binary with arguments (posix_spawn), wait for
// the port file it writes, signal it by PID, and wait for its exit with a bounded timeout while
// collecting its exit status, stdout and stderr (redirected to temporary files, so a chatty child
// never blocks on a full pipe). Only ever signals the process it started; the destructor kills
// and reaps a child that is still running.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smppgw::testsupport {

// A unique, not yet existing path under $TMPDIR (or /tmp), e.g. for --port-file.
std::string tempPath(const std::string& stem);

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  // argv[0] is `path`. False (with `error`) if it could not be spawned.
  bool start(const std::string& path, const std::vector<std::string>& args,
             std::string* error = nullptr);

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Sends `sig` to the child (only if it is still ours and running).
  bool signal(int sig);
  // Waits up to `timeout` for the child to exit. True if it exited (then exitCode() etc. valid).
  bool wait(std::chrono::milliseconds timeout);
  // SIGTERM, then wait; SIGKILL after `grace`. Returns whether it exited by itself after SIGTERM.
  bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  bool exited() const { return reaped_; }
  // Exit code, or -1 if it was killed by a signal (see termSignal()).
  int exitCode() const { return exit_code_; }
  int termSignal() const { return term_signal_; }

  std::string out() const;  // everything written to stdout so far
  std::string err() const;  // everything written to stderr so far

  // Waits until `path` holds a port number (written by the child), up to `timeout`. Returns
  // early with nullopt if the child exits first.
  std::optional<uint16_t> waitForPortFile(const std::string& path,
                                          std::chrono::milliseconds timeout);

 private:
  void reap(int status);
  void cleanup();

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  std::string out_path_;
  std::string err_path_;
};

// Reads a whole file ("" if missing).
std::string readFile(const std::string& path);

// The resident set size of a running process (VmRSS in /proc/PID/status), in bytes; nullopt if
// the process or the line is not there.
std::optional<uint64_t> residentBytes(pid_t pid);

}  // namespace smppgw::testsupport
